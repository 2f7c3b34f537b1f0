"""`manage.py generate_scale_data` at a small scale, on the real units of two provinces (Lai Châu 12,
38 communes; Huế 46, 40): valid, complete and deterministic data."""

import datetime as dt
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Count, F

from tasks_app import lifecycle
from tasks_app.management.commands import generate_scale_data
from tasks_app.models import Assignment, Official, Plan, Task, TaskGroup, Unit
from tasks_app.status import Status, Timeliness

SMALL = {"provinces": ["12", "46"], "assignments": 1560, "seed": 7}


def generate(**options):
    out = io.StringIO()
    call_command("generate_scale_data", stdout=out, **{**SMALL, **options})
    return out.getvalue()


def snapshot():
    return list(
        Assignment.objects.order_by("task__code", "unit__code").values_list(
            "task__code",
            "unit__code",
            "role",
            "responsible__user__username",
            "status",
            "deadline",
            "original_deadline",
            "progress",
            "issued_at",
            "submitted_at",
            "completed_at",
            "version",
        )
    )


def delete_generated():
    """Remove the generated rows with plain SQL: nothing else refers to them in these tests, and
    the ORM's cascade would reach into every app's tables."""
    Unit.objects.update(head=None, parent=None)
    with connection.cursor() as cursor:
        for model in (Assignment, Task, TaskGroup, Plan, Official, get_user_model(), Unit):
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")  # noqa: S608


@pytest.mark.postgres
@pytest.mark.django_db
def test_builds_on_the_real_units_of_the_provinces_with_copy():
    output = generate()

    assert "(COPY)" in output
    assert Assignment.objects.count() == 1560
    # The organisation is load_province's: the real provinces and their official communes.
    provinces = Unit.objects.filter(parent__isnull=True, kind__in=Unit.PROVINCE_LEVEL)
    assert dict(provinces.values_list("code", "name")) == {"12": "UBND tỉnh Lai Châu", "46": "UBND thành phố Huế"}
    assert Unit.objects.filter(kind__in=Unit.COMMUNE_LEVEL, parent__code="12").count() == 38
    assert Unit.objects.filter(kind__in=Unit.COMMUNE_LEVEL, parent__code="46").count() == 40
    assert not Unit.objects.filter(code__startswith="SC").exists()  # no invented unit
    # Every assignment is given to a real commune of the province whose plan it belongs to, and
    # the assignments are shared in proportion to the communes (38 : 40 of 1560).
    assert not Assignment.objects.exclude(unit__parent_id=F("task__group__plan__province_id")).exists()
    assert not Assignment.objects.exclude(unit__kind__in=Unit.COMMUNE_LEVEL).exists()
    per_province = dict(
        Assignment.objects.order_by()
        .values_list("unit__parent__code")
        .annotate(n=Count("id"))
        .values_list("unit__parent__code", "n")
    )
    assert per_province == {"12": 760, "46": 800}
    # Each commune has the same share of work (20 tasks each).
    assert set(Assignment.objects.order_by().values("unit").annotate(n=Count("id")).values_list("n", flat=True)) == {20}
    # Every unit has its head (the national monitor's unit, not a unit of work, has none).
    assert list(Unit.objects.filter(head__isnull=True).values_list("kind", flat=True)) == [Unit.Kind.NATION]
    assert Official.objects.get(user__username="national-office").role == Official.Role.NATIONAL
    # One plan per province, each with its groups; the provincial leader holds authority.
    plans = Plan.objects.filter(name=generate_scale_data.PLAN_NAME)
    assert sorted(plans.values_list("province__code", flat=True)) == ["12", "46"]
    for plan in plans:
        assert plan.groups.count() == generate_scale_data.GROUPS
    authorities = set(Task.objects.values_list("authority__user__username", "group__plan__province__code"))
    assert authorities == {("leader-12", "12"), ("leader-46", "46")}
    assert (
        Official.objects.filter(role=Official.Role.OFFICE, user__username__in=["office-12", "office-46"]).count() == 2
    )
    # A specialist in every commune answers for about half its work.
    assert Official.objects.filter(user__username__startswith="sc-staff-").count() == 78
    # Nobody can sign in with a password as a generated or loaded person.
    assert not any(user.has_usable_password() for user in get_user_model().objects.all())


def test_assignments_are_shared_in_proportion_to_the_communes():
    assert generate_scale_data.share_by(1560, [38, 40]) == [760, 800]
    assert generate_scale_data.share_by(10, [1, 1, 1]) == [4, 3, 3]
    parts = generate_scale_data.share_by(1_000_000, [126, 114, 168])
    assert sum(parts) == 1_000_000 and parts[2] > parts[0] > parts[1]


@pytest.mark.postgres
@pytest.mark.django_db
def test_on_a_database_that_already_holds_the_provinces_it_adds_only_the_plan_and_work():
    call_command("load_province", "12", "46", "--national-office", verbosity=0)
    units = Unit.objects.count()
    generate()
    assert Unit.objects.count() == units
    assert Assignment.objects.count() == 1560


@pytest.mark.postgres
@pytest.mark.django_db
def test_every_status_is_present_and_every_issued_assignment_has_its_six_clears():
    generate()

    statuses = set(Assignment.objects.values_list("status", flat=True).distinct())
    assert statuses == set(Status.values)
    for assignment in Assignment.objects.exclude(status=Status.DRAFT).select_related("task", "unit"):
        assert lifecycle.missing_clears(assignment) == [], assignment.pk
        assert assignment.responsible.unit_id == assignment.unit_id
        assert assignment.authority_id == assignment.task.authority_id
        assert assignment.issued_at <= assignment.updated_at
        if assignment.submitted_at:
            assert assignment.issued_at < assignment.submitted_at
        if assignment.status == Status.ACCEPTED:
            assert assignment.completed_at == assignment.submitted_at
            assert assignment.progress == 100
    assert not Assignment.objects.filter(status=Status.DRAFT, issued_at__isnull=False).exists()


@pytest.mark.postgres
@pytest.mark.django_db
def test_timeliness_classes_look_like_real_work_on_the_as_of_day():
    generate(as_of=dt.date(2026, 6, 1))

    classes = dict(
        Assignment.objects.with_timeliness(dt.date(2026, 6, 1))
        .order_by()
        .values_list("timeliness")
        .annotate(n=Count("id"))
        .values_list("timeliness", "n")
    )
    for timeliness in Timeliness.values:
        assert classes.get(timeliness, 0) > 0, timeliness
    assert max(Assignment.objects.values_list("updated_at", flat=True)) < dt.datetime(2026, 6, 1, 2, tzinfo=dt.UTC)


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_same_seed_gives_the_same_rows_and_another_seed_does_not():
    generate()
    first = snapshot()
    delete_generated()
    generate()
    assert snapshot() == first
    delete_generated()
    generate(seed=8)
    assert snapshot() != first


@pytest.mark.django_db
def test_refuses_to_run_twice_and_changes_nothing():
    generate(assignments=100)
    before = (Unit.objects.count(), Assignment.objects.count(), get_user_model().objects.count())

    with pytest.raises(CommandError, match="already in this database"):
        generate(assignments=100)

    assert (Unit.objects.count(), Assignment.objects.count(), get_user_model().objects.count()) == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"provinces": ["99"]}, "99"),
        ({"assignments": 0}, "--assignments"),
        ({"as_of": dt.date(2025, 6, 1)}, "--as-of"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_written(options, message):
    with pytest.raises(CommandError, match=message):
        generate(**options)
    assert not Unit.objects.exists()


@pytest.mark.django_db
def test_the_insert_path_writes_the_same_rows_as_copy(monkeypatch):
    """Other databases (SQLite for `make demo`) go through multi-row INSERT; same data."""
    generate(assignments=300)
    with_copy = snapshot()
    delete_generated()
    monkeypatch.setattr(generate_scale_data.Writer, "__init__", _insert_only)
    output = generate(assignments=300)

    assert "(INSERT)" in output
    assert snapshot() == with_copy


def _insert_only(self, stdout=None):
    self.copy = False
    self.stdout = stdout


def test_share_splits_evenly():
    assert generate_scale_data.share(3321, 34)[:3] == [98, 98, 98]
    assert sum(generate_scale_data.share(3321, 34)) == 3321
    assert max(generate_scale_data.share(3321, 34)) - min(generate_scale_data.share(3321, 34)) <= 1
    assert connection.vendor  # the module imports cleanly under either database
