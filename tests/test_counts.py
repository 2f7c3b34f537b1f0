"""Issue 14: the dashboard's maintained counts (tasks_app/counts.py, kept by PostgreSQL triggers)
equal the full GROUP BY of `tracked()` — both deadline bases, every unit, group and month — after
every write path (each lifecycle step, the API, the admin, import_plan, fan-out, raw SQL,
bulk_create, QuerySet.update, delete, a task or a unit moved) and across a local midnight
(Asia/Ho_Chi_Minh), with the counts' day rolled and not rolled; `manage.py reconcile_counts`
says so, finds a count that is off and recounts it with --fix."""

import datetime as dt
import io
import zoneinfo
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tasks_app import counts, lifecycle
from tasks_app.actions import fan_out
from tasks_app.models import Assignment, Task, TaskGroup, Unit, UnitCount
from tasks_app.status import Status, Timeliness
from tests.conftest import make_assignment, make_official
from tests.fixtures_web import admin_edit_deliverable, sign_in

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

HCM = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
SAMPLE = Path(__file__).resolve().parent.parent / "tasks_app" / "data" / "phu_luc_nhiem_vu_2026_mau.xlsx"


def assert_equal_to_group_by(today=None):
    today = today or lifecycle.local_today()
    assert counts.reconcile(today) == []
    # And the figures are not all empty: something is counted.
    return counts.dashboard_figures(today)


def filtered_equal(*, basis="current", province_id=None, group_id=None, plan_id=None):
    """The counts with the dashboard's filters equal the GROUP BY of the same filtered rows."""
    from tasks_app.scope import province_units

    today = lifecycle.local_today()
    tracked = Assignment.objects.tracked(today, original_deadline=basis == "original").order_by()
    if province_id is not None:
        tracked = tracked.filter(unit_id__in=province_units(province_id))
    if group_id:
        tracked = tracked.filter(task__group_id=group_id)
    if plan_id:
        tracked = tracked.filter(task__group__plan_id=plan_id)
    counted = counts.dashboard_figures(today, basis=basis, province_id=province_id, group_id=group_id, plan_id=plan_id)
    assert counted == counts.orm_figures(tracked, basis)
    return counted


def reconciled_by_command():
    out = io.StringIO()
    call_command("reconcile_counts", stdout=out)
    assert "counts equal the GROUP BY" in out.getvalue()


@pytest.fixture
def work(task, head_a, head_b, official_a, leader, city):
    """Assignments in every class on both bases: due long ago, yesterday, today, tomorrow, later."""
    today = lifecycle.local_today()
    made = []
    for n, days in enumerate((-40, -1, 0, 1, 30)):
        unit = Unit.objects.create(code=f"W{n}", name=f"Xã W{n}", kind=Unit.Kind.COMMUNE, parent=city)
        make_official(f"head-w{n}", unit, head=True)
        status = Status.ISSUED if n % 2 else Status.IN_PROGRESS
        made.append(make_assignment(task, unit, status=status, deadline=today + dt.timedelta(days=days)))
    # Extended: overdue on the original deadline, on time on the current one.
    extended = made[-1]
    Assignment.objects.filter(pk=extended.pk).update(original_deadline=today - dt.timedelta(days=3))
    return made


def test_counts_follow_each_lifecycle_step(task, head_a, official_a, leader, work):
    counted = assert_equal_to_group_by()
    assert sum(r["assigned"] for r in counted["per_unit"].values()) == 5
    draft = make_assignment(task, head_a.unit, status=Status.DRAFT)
    assert_equal_to_group_by()
    lifecycle.issue(draft, by=leader.user)
    assert_equal_to_group_by()
    lifecycle.report_progress(draft, by=official_a.user, percent=40)
    assert_equal_to_group_by()
    lifecycle.submit(draft, by=official_a.user, note="Nộp")
    assert_equal_to_group_by()
    lifecycle.return_(draft, by=leader.user, reason="Bổ sung")
    assert_equal_to_group_by()
    lifecycle.submit(draft, by=official_a.user, note="Nộp lại")
    lifecycle.accept(draft, by=leader.user)
    counted = assert_equal_to_group_by()
    assert counted["per_unit"][head_a.unit_id]["on_time"] + counted["per_unit"][head_a.unit_id]["late"] == 1
    request = lifecycle.request_extension(
        work[1],
        by=work[1].unit.head.user,
        requested_deadline=lifecycle.local_today() + dt.timedelta(days=60),
        reason="Chờ vốn",
    )
    lifecycle.decide_extension(request, by=leader.user, approve=True)
    assert_equal_to_group_by()
    lifecycle.cancel(work[2], by=leader.user, reason="Không còn phù hợp")
    assert_equal_to_group_by()
    reconciled_by_command()


def test_counts_follow_the_api_and_the_admin(key_a, assignment_a, admin_client, work):
    response = key_a.client().post(f"/api/v1/assignments/{assignment_a.pk}/progress/", {"percent": 10}, format="json")
    assert response.status_code == 201, response.content
    response = key_a.client().post(f"/api/v1/assignments/{assignment_a.pk}/submit/", {"note": "xong"}, format="json")
    assert response.status_code in (200, 201), response.content
    assert_equal_to_group_by()
    admin_edit_deliverable(admin_client, assignment_a)
    assert_equal_to_group_by()
    response = admin_client.post(f"/admin/tasks_app/assignment/{work[0].pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Assignment.objects.filter(pk=work[0].pk).exists()
    assert_equal_to_group_by()


def test_counts_follow_the_bulk_paths(task, group, leader, head_a, head_b, city, work):
    # fan_out: bulk_create_with_history, then issued.
    other = Task.objects.create(
        group=group,
        code="2026-01-02",
        number=2,
        title="Rà soát thủ tục hành chính",
        description="Rà soát, cắt giảm thủ tục.",
        deliverable="Báo cáo rà soát",
        acceptance_criteria="Đủ danh mục",
        authority=leader,
        default_deadline=lifecycle.local_today() + dt.timedelta(days=5),
    )
    created = fan_out(other, Unit.objects.filter(kind__in=Unit.COMMUNE_LEVEL), role="lead", by=leader.user, issue=True)
    assert len(created) == 7
    assert_equal_to_group_by()
    # bulk_create
    third = Task.objects.create(group=group, code="2026-01-03", number=3, title="Ba", authority=leader)
    Assignment.objects.bulk_create(
        Assignment(
            task=third,
            unit=a.unit,
            role="lead",
            responsible_id=a.responsible_id,
            authority=leader,
            status=Status.IN_PROGRESS,
            deadline=lifecycle.local_today() - dt.timedelta(days=2),
        )  # fmt: skip
        for a in work
    )
    assert_equal_to_group_by()
    # QuerySet.update of status, deadlines and completion
    Assignment.objects.filter(task=third).update(
        status=Status.ACCEPTED, completed_at=dt.datetime(2026, 1, 1, 20, 0, tzinfo=dt.UTC)
    )
    Assignment.objects.filter(task=other).update(deadline=lifecycle.local_today() - dt.timedelta(days=9))
    assert_equal_to_group_by()
    # raw SQL, including a completion on the local day after the deadline's UTC day
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tasks_app_assignment SET status = 'submitted', submitted_at = %s WHERE task_id = %s",
            [dt.datetime.combine(lifecycle.local_today(), dt.time(18, 0), tzinfo=dt.UTC), other.pk],
        )
        cursor.execute("DELETE FROM tasks_app_assignment WHERE id = %s", [work[3].pk])
    assert_equal_to_group_by()
    # QuerySet.delete and a model delete
    Assignment.objects.filter(task=third, unit__code__in=["W0", "W1"]).delete()
    work[4].delete()
    assert_equal_to_group_by()
    # A task moved to another group, a unit moved to another province.
    moved_to = TaskGroup.objects.create(plan=group.plan, number=2, title="Văn hóa - xã hội")
    other.group = moved_to
    other.save()
    assert_equal_to_group_by()
    counted = filtered_equal(group_id=moved_to.pk)
    assert sum(r["assigned"] for r in counted["per_unit"].values()) == 7
    assert filtered_equal(plan_id=group.plan_id, basis="original")["per_unit"]
    province = Unit.objects.create(code="P2", name="Tỉnh khác", kind=city.kind)
    Unit.objects.filter(code="W2").update(parent=province)
    assert_equal_to_group_by()
    counted = filtered_equal(province_id=province.pk)
    assert sum(r["assigned"] for r in counted["per_unit"].values()) == 3
    assert sum(sum(c.values()) for c in counted["by_month"].values()) == 3
    assert filtered_equal(province_id=city.pk, group_id=group.pk, basis="original")["per_unit"]
    reconciled_by_command()


def test_counts_follow_import_plan_and_generate_scale_data():
    call_command("load_haiphong", verbosity=0)
    call_command("import_plan", str(SAMPLE), "--plan", "Kế hoạch nhập thử", stdout=io.StringIO())
    assert Assignment.objects.exists()
    assert_equal_to_group_by()
    call_command("generate_scale_data", provinces=["12"], assignments=50, seed=7, stdout=io.StringIO())
    assert_equal_to_group_by()
    reconciled_by_command()


def test_counts_across_local_midnight(task, city, leader):
    """Work due on 1 July is on time at 23:59 that day and overdue at 00:01 the next, in Hồ Chí Minh
    time; the counts say so before the nightly roll, after it, and when the clock goes back."""
    with time_machine.travel(dt.datetime(2026, 7, 1, 23, 59, tzinfo=HCM), tick=False) as clock:
        for n, status in enumerate((Status.ISSUED, Status.IN_PROGRESS, Status.RETURNED)):
            unit = Unit.objects.create(code=f"M{n}", name=f"Xã M{n}", kind=Unit.Kind.COMMUNE, parent=city)
            make_official(f"head-m{n}", unit, head=True)
            make_assignment(task, unit, status=status, deadline=dt.date(2026, 7, 1))
        counts.roll(dt.date(2026, 7, 1))
        before = assert_equal_to_group_by()
        assert sum(r["overdue"] for r in before["per_unit"].values()) == 0
        clock.move_to(dt.datetime(2026, 7, 2, 0, 1, tzinfo=HCM))
        assert lifecycle.local_today() == dt.date(2026, 7, 2)
        after = assert_equal_to_group_by()  # not rolled yet: corrected at read time
        assert sum(r["overdue"] for r in after["per_unit"].values()) == 3
        reconciled_by_command()
        with CaptureQueriesContext(connection):
            call_command("reconcile_counts", "--roll", stdout=io.StringIO())
        assert counts.dashboard_figures(dt.date(2026, 7, 2)) == after
        assert_equal_to_group_by()
        clock.move_to(dt.datetime(2026, 6, 20, 9, 0, tzinfo=HCM))  # a clock set back: corrected the other way
        back = assert_equal_to_group_by()
        assert sum(r["overdue"] for r in back["per_unit"].values()) == 0


def test_reconcile_finds_a_count_that_is_off_and_fix_recounts(work):
    reconciled_by_command()
    UnitCount.objects.create(
        unit_id=work[0].unit_id,
        group_id=work[0].task.group_id,
        timeliness=Timeliness.OVERDUE,
        kpi_timeliness=Timeliness.OVERDUE,
        n=2,
    )
    with pytest.raises(CommandError, match="difference"):
        call_command("reconcile_counts", stdout=io.StringIO())
    out = io.StringIO()
    call_command("reconcile_counts", "--fix", stdout=out)
    assert "recounted" in out.getvalue()
    reconciled_by_command()


def test_the_dashboard_reads_the_counts_not_the_assignments(client, office, work):
    sign_in(client, office)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("web:dashboard"))
    assert response.status_code == 200
    figures_sql = [q["sql"] for q in ctx.captured_queries if "tasks_app_unittotal" in q["sql"]]
    assert len(figures_sql) == 1
    assert not any("GROUP BY" in q["sql"] and "tasks_app_unittotal" not in q["sql"] and "tasks_app_assignment" in q["sql"]
                   and "inspection" not in q["sql"] for q in ctx.captured_queries)  # fmt: skip
    classes = {c["value"]: c["n"] for c in response.context["classes"]}
    assert sum(classes.values()) == 5 and classes[Timeliness.OVERDUE] == 2


def test_the_triggers_judge_by_the_lifecycle_rule_itself():
    """The counts' SQL function is `lifecycle.timeliness_expression` compiled (one home for the
    rule): the installed function holds that compiled text, and it classes every status, around
    the deadline and a local midnight, as `lifecycle.timeliness_of` does."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = 'tasks_app_timeliness'")
        (source,) = cursor.fetchone()
    assert counts.timeliness_case() in source
    assert "tasks_app_assignment" not in source

    tz = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
    deadline = dt.date(2026, 6, 30)
    moments = [
        None,
        dt.datetime(2026, 6, 30, 23, 59, tzinfo=tz),  # the deadline's last local minute: on time
        dt.datetime(2026, 7, 1, 0, 1, tzinfo=tz),  # 17:01 UTC on the 30th, the next local day: late
    ]
    cases = [
        (status, day, at, today)
        for status in Status
        for day in (deadline, None)
        for at in moments
        for today in (dt.date(2026, 6, 29), deadline, dt.date(2026, 7, 1))
    ]
    with connection.cursor() as cursor:
        for status, day, at, today in cases:
            work = Assignment(status=status, deadline=day, submitted_at=at, completed_at=at)
            cursor.execute(
                "SELECT tasks_app_timeliness(%s, %s, %s, %s, %s, %s)",
                [status.value, day, at, at, today, "Asia/Ho_Chi_Minh"],
            )
            expected = lifecycle.timeliness_of(work, today)
            assert cursor.fetchone()[0] == (expected.value if expected else ""), (status, day, at, today)
