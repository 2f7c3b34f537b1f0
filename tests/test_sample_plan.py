"""`manage.py load_sample_plan`: the illustrative 2026 plan, issued with its six clears, loaded once."""

import datetime as dt
import io
import json
import zoneinfo
from collections import Counter

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import transaction

from tasks_app import events, figures
from tasks_app.management.commands import load_sample_plan
from tasks_app.models import (
    Assignment,
    ExtensionRequest,
    Indicator,
    Official,
    Plan,
    ProgressReport,
    Task,
    TaskGroup,
    Unit,
)
from tasks_app.status import Status, Timeliness

pytestmark = pytest.mark.django_db

HCM = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
# "Today" of the demo: late November 2026.
TODAY = dt.date(2026, 11, 25)
NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=HCM)


@pytest.fixture(scope="class")
def haiphong(django_db_setup, django_db_blocker):
    """Hải Phòng's units, heads and city leader, loaded once for a whole class of tests: each test
    runs in a savepoint inside this transaction, which is rolled back after the class."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("load_haiphong", verbosity=0)
        yield
        transaction.set_rollback(True)


@pytest.fixture(scope="class")
def sample_plan(haiphong, django_db_blocker):
    """The sample plan on top, loaded once for the class (a savepoint of the city's transaction)."""
    with django_db_blocker.unblock(), transaction.atomic():
        load()
        yield
        transaction.set_rollback(True)


def load(**options):
    call_command("load_sample_plan", stdout=io.StringIO(), **options)


def row_counts():
    return {
        "plans": Plan.objects.count(),
        "groups": TaskGroup.objects.count(),
        "tasks": Task.objects.count(),
        "indicators": Indicator.objects.count(),
        "assignments": Assignment.objects.count(),
        "reports": ProgressReport.objects.count(),
        "extensions": ExtensionRequest.objects.count(),
        "history": (
            Plan.history.count(),
            TaskGroup.history.count(),
            Task.history.count(),
            Indicator.history.count(),
            Assignment.history.count(),
            ExtensionRequest.history.count(),
        ),
    }


def _numbered_in_group(tasks):
    seen = Counter()
    for task in tasks:
        seen[task.group_id] += 1
        yield seen[task.group_id], task


def test_without_haiphong_units_it_fails_and_creates_nothing(db):
    with pytest.raises(CommandError, match="load_haiphong"):
        load()
    assert row_counts()["plans"] == row_counts()["tasks"] == row_counts()["assignments"] == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c["groups"][0]["tasks"].pop(), "expected"),
        (lambda c: c["groups"][1]["tasks"][0].update(deadline="2027-01-31"), "outside 2026"),
        (lambda c: c["groups"][1]["tasks"][0].update(coordinating=["SO-TC"]), "listed twice"),
        (lambda c: c["groups"][1]["tasks"][0].update(deliverable=" "), "deliverable"),
        (lambda c: c["groups"][1]["tasks"][0].update(indicator=99), "indicator number 99"),
    ],
)
def test_bad_content_is_refused_naming_the_problem(tmp_path, change, message):
    content = json.loads(load_sample_plan.DATA_FILE.read_text(encoding="utf-8"))
    change(content)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CommandError, match=message):
        load_sample_plan.read_content(path)


def snapshot():
    return sorted(
        Assignment.objects.values_list(
            "task__code", "unit__code", "status", "progress", "deadline", "submitted_at", "completed_at", "return_count"
        )
    )


class Rollback(Exception):
    pass


class TestOnTheLoadedCity:
    """Each test loads the plan itself, on the city loaded once for the class."""

    def test_loads_the_plan_as_labelled_sample_content(self, haiphong, capsys):
        call_command("load_sample_plan")
        plan = Plan.objects.get()
        assert plan.is_sample
        assert plan.year == 2026
        assert "minh họa" in plan.name
        assert plan.theme == "Chủ động thực thi; phát huy động lực; tăng trưởng bứt phá"
        assert plan.groups.count() == 10
        assert Task.objects.filter(group__plan=plan).count() == 82
        assert plan.indicators.count() == 22
        out = capsys.readouterr().out
        assert "82 nhiệm vụ" in out and "1409 phân công" in out
        assert "nội dung minh họa" in out and "illustrative" in out

    def test_without_the_city_leader_it_fails_and_creates_nothing(self, haiphong):
        leader = Official.objects.get(user__username="city-leader")
        user = leader.user
        leader.delete()
        user.delete()
        assert not get_user_model().objects.filter(username="city-leader").exists()
        with pytest.raises(CommandError, match="city-leader.*load_haiphong"):
            load()
        assert Plan.objects.count() == Task.objects.count() == Assignment.objects.count() == 0

    @time_machine.travel(NOW, tick=False)
    def test_demo_activity_gives_a_deterministic_realistic_mix_and_runs_once(self, haiphong):
        # The same seed and the same day give the same activity (first run rolled back, then again).
        with pytest.raises(Rollback), transaction.atomic():
            load(demo_activity=True)
            first = snapshot()
            raise Rollback
        assert not ProgressReport.objects.exists()
        load(demo_activity=True)
        assert snapshot() == first

        assignments = Assignment.objects.all()
        timeliness = Counter(assignments.with_timeliness(today=TODAY).values_list("timeliness", flat=True))
        for cls in Timeliness:
            assert timeliness[cls.value] > 0, cls
        assert timeliness[Timeliness.OVERDUE] >= 50
        statuses = Counter(assignments.values_list("status", flat=True))
        for status in (Status.ISSUED, Status.IN_PROGRESS, Status.SUBMITTED, Status.RETURNED, Status.ACCEPTED):
            assert statuses[status] > 0, status
        assert assignments.filter(status=Status.ACCEPTED, return_count__gt=0).exists()
        extensions = Counter(ExtensionRequest.objects.values_list("status", flat=True))
        assert extensions[ExtensionRequest.Status.PENDING] > 0
        assert extensions[ExtensionRequest.Status.APPROVED] > 0
        # Approved extensions moved the deadline and kept the original for KPI.
        for request in ExtensionRequest.objects.filter(status=ExtensionRequest.Status.APPROVED).select_related(
            "assignment"
        ):
            assert request.assignment.deadline == request.requested_deadline > request.assignment.original_deadline
            assert request.requested_at < request.decided_at

        # The illustrative times are in the past and in order.
        now = NOW.astimezone(dt.UTC)
        assert not ProgressReport.objects.filter(created_at__gt=now).exists()
        for a in assignments.filter(status=Status.ACCEPTED):
            assert a.completed_at == a.submitted_at <= now
        for a in assignments.exclude(status=Status.ISSUED).prefetch_related("reports"):
            times = [r.created_at for r in sorted(a.reports.all(), key=lambda r: r.pk)]
            assert times == sorted(times)
            assert a.issued_at <= times[0]

        before = row_counts()
        load(demo_activity=True)
        assert row_counts() == before

    @time_machine.travel(NOW, tick=False)
    def test_every_demo_step_goes_through_the_lifecycle_at_its_own_moment(self, haiphong):
        load()
        issued = dict(Assignment.objects.values_list("pk", "version"))
        figures_before = figures.current()
        sent: Counter = Counter()

        def count(sender, event, **kwargs):
            sent[event] += 1

        events.assignment_event.connect(count, dispatch_uid="test_demo_steps")
        try:
            load(demo_activity=True)
        finally:
            events.assignment_event.disconnect(dispatch_uid="test_demo_steps")

        # One version, one history row and one figures bump per step, as for a real user.
        steps = Counter(Assignment.history.filter(history_type="~").values_list("id", flat=True))
        for pk, version in Assignment.objects.values_list("pk", "version"):
            assert version - issued[pk] == steps[pk]
        assert figures.current() - figures_before >= sum(steps.values()) > 1000
        # The domain events were sent: one per progress report and one per status change.
        reports = Counter(ProgressReport.objects.values_list("kind", flat=True))
        assert sent[events.PROGRESS_REPORTED] == reports["progress"]
        assert sent[events.STATUS_CHANGED] >= reports["submission"] + reports["acceptance"] + reports["return"]
        approved = ExtensionRequest.objects.filter(status=ExtensionRequest.Status.APPROVED).count()
        assert sent[events.DEADLINE_CHANGED] == approved > 0
        # Each step's report and history row carry the step's illustrative moment, not the load's.
        dated = set(Assignment.history.filter(history_type="~").values_list("id", "history_date"))
        assert set(ProgressReport.objects.values_list("assignment_id", "created_at")) <= dated
        assert max(moment for _, moment in dated) < NOW


class TestTheLoadedPlan:
    """Read-only checks of the plan as one load made it, loaded once for the class."""

    def test_tasks_are_numbered_coded_dated_and_linked(self, sample_plan):
        tasks = list(Task.objects.select_related("group", "authority__user").order_by("number"))
        assert [t.number for t in tasks] == list(range(1, 83))
        leader = Official.objects.get(user__username="city-leader")
        months = set()
        for n_in_group, task in _numbered_in_group(tasks):
            assert task.code == f"MH-2026-{task.group.number:02d}-{n_in_group:02d}"
            assert task.authority == leader
            assert task.title and task.description and task.deliverable and task.acceptance_criteria
            assert task.default_deadline.year == 2026
            months.add(task.default_deadline.month)
        assert len(months) >= 10, "deadlines are spread over the year"
        assert Task.objects.filter(indicator__isnull=False).count() >= 20
        for indicator in Indicator.objects.select_related("responsible_unit"):
            assert indicator.responsible_unit.kind == Unit.Kind.DEPARTMENT
            assert indicator.annual_target > 0 and indicator.unit_of_measure

    def test_every_assignment_is_issued_with_all_six_clears(self, sample_plan):
        leader = Official.objects.get(user__username="city-leader")
        assignments = Assignment.objects.select_related("task", "unit")
        assert assignments.count() == 1409
        for a in assignments:
            assert a.status == Status.ISSUED
            assert a.missing_clears() == []
            assert a.authority_id == leader.pk
            assert a.responsible_id == a.unit.head_id
            assert a.deadline == a.original_deadline == a.task.default_deadline
        # Every task has exactly one lead: one department, or every commune-level unit.
        leads = Counter(assignments.filter(role=Assignment.Role.LEAD).values_list("task__code", flat=True))
        assert set(leads) == set(Task.objects.values_list("code", flat=True))
        assert set(leads.values()) == {1, 114}

    def test_tasks_for_all_communes_fan_out_to_114_assignments(self, sample_plan):
        communes = set(Unit.objects.filter(kind__in=Unit.COMMUNE_LEVEL).values_list("pk", flat=True))
        assert len(communes) == 114
        commune_tasks = Task.objects.filter(assignments__unit__kind__in=Unit.COMMUNE_LEVEL).distinct()
        assert 8 <= commune_tasks.count() <= 12
        for task in commune_tasks:
            lead_units = set(task.assignments.filter(role=Assignment.Role.LEAD).values_list("unit_id", flat=True))
            assert lead_units == communes
            # Coordinating units are departments, never a commune.
            assert not task.assignments.filter(role=Assignment.Role.COORDINATING, unit_id__in=communes).exists()

    def test_second_run_changes_nothing(self, sample_plan):
        first = row_counts()
        load()
        assert row_counts() == first
