"""`manage.py generate_scale_data` at a small scale: valid, complete and deterministic data."""

import datetime as dt
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Count

from tasks_app import lifecycle
from tasks_app.management.commands import generate_scale_data
from tasks_app.models import Assignment, Official, Plan, Task, TaskGroup, Unit
from tasks_app.status import Status, Timeliness

SMALL = {"provinces": 3, "communes": 20, "assignments": 1500, "seed": 7}


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
def test_generates_the_requested_organisation_and_assignments_with_copy():
    output = generate()

    assert "(COPY)" in output
    assert Assignment.objects.count() == 1500
    assert Unit.objects.filter(kind=Unit.Kind.CITY).count() == 3
    assert Unit.objects.filter(kind__in=Unit.COMMUNE_LEVEL).count() == 20
    assert Unit.objects.filter(kind=Unit.Kind.DEPARTMENT).count() == 3 * len(generate_scale_data.DEPARTMENTS)
    # Communes are shared out as evenly as possible: 7, 7, 6.
    per_province = dict(
        Unit.objects.filter(kind__in=Unit.COMMUNE_LEVEL)
        .order_by()
        .values_list("parent__code")
        .annotate(n=Count("id"))
        .values_list("parent__code", "n")
    )
    assert per_province == {"SC-P01": 7, "SC-P02": 7, "SC-P03": 6}
    assert Unit.objects.filter(head__isnull=True).count() == 0
    assert Unit.objects.exclude(kind=Unit.Kind.CITY).filter(parent__isnull=True).count() == 0
    assert Plan.objects.get().groups.count() == generate_scale_data.GROUPS
    # Every province has a leader who sees the whole plan and an office that monitors it.
    assert Official.objects.filter(role=Official.Role.LEADER).count() == 3
    assert Official.objects.filter(role=Official.Role.OFFICE).count() == 3
    # Nobody can sign in with a password as a generated person.
    assert not any(user.has_usable_password() for user in get_user_model().objects.all())


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
    generate(assignments=40)
    before = (Unit.objects.count(), Assignment.objects.count(), get_user_model().objects.count())

    with pytest.raises(CommandError, match="already in this database"):
        generate(assignments=40)

    assert (Unit.objects.count(), Assignment.objects.count(), get_user_model().objects.count()) == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"provinces": 0}, "--provinces"),
        ({"provinces": 5, "communes": 4}, "--communes"),
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
