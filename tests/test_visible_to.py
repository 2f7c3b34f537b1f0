"""One definition of who sees which assignments."""

from tasks_app.models import Assignment, ExtensionRequest, ProgressReport


def _ids(actor):
    return set(Assignment.objects.visible_to(actor).values_list("id", flat=True))


def test_commune_sees_only_its_own(assignment_a, assignment_b, head_a, official_a, head_b):
    assert _ids(head_a.user) == {assignment_a.pk}
    assert _ids(official_a) == {assignment_a.pk}
    assert _ids(head_b.user) == {assignment_b.pk}


def test_city_wide_roles_see_everything(assignment_a, assignment_b, leader, office, admin_user):
    both = {assignment_a.pk, assignment_b.pk}
    assert _ids(leader.user) == both
    assert _ids(office.user) == both
    assert _ids(admin_user) == both


def test_department_sees_nothing_of_communes(assignment_a, dept_head):
    assert _ids(dept_head.user) == set()


def test_anonymous_and_profile_less_users_see_nothing(assignment_a, django_user_model):
    from django.contrib.auth.models import AnonymousUser

    assert _ids(AnonymousUser()) == set()
    assert _ids(None) == set()
    assert _ids(django_user_model.objects.create_user("nobody", password="pw-nobody-1")) == set()


def test_authority_and_responsible_see_theirs_across_units(task, head_a, dept_head):
    from tests.conftest import make_assignment

    a = make_assignment(task, head_a.unit)
    a.responsible = dept_head  # a department official answering for a commune's item
    a.save()
    assert _ids(dept_head.user) == {a.pk}


def test_related_rows_follow_their_assignment(assignment_a, assignment_b, head_a, head_b):
    import datetime as dt

    assignment_a.report_progress(by=head_a, percent=10)
    assignment_b.report_progress(by=head_b, percent=20)
    assignment_b.request_extension(by=head_b, requested_deadline=dt.date(2026, 12, 31), reason="x")
    assert list(ProgressReport.objects.visible_to(head_a.user).values_list("percent", flat=True)) == [10]
    assert not ExtensionRequest.objects.visible_to(head_a.user).exists()
    assert ExtensionRequest.objects.visible_to(head_b.user).count() == 1


def test_api_keys_as_actors(assignment_a, assignment_b):
    class Key:
        name = "k"

        def __init__(self, unit_id=None, portal=False):
            self.unit_id, self.is_portal = unit_id, portal

    assert _ids(Key(unit_id=assignment_a.unit_id)) == {assignment_a.pk}
    assert _ids(Key(portal=True)) == {assignment_a.pk, assignment_b.pk}
