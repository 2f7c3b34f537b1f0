"""The five Vietnamese reporting classes, at their boundaries, per object and in SQL."""

import datetime as dt
import random
import zoneinfo

import pytest
import time_machine

from tasks_app.models import Assignment, Task
from tasks_app.status import Status, Timeliness
from tests.conftest import make_assignment

HCM = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
DEADLINE = dt.date(2026, 6, 30)


def local(*args):
    return dt.datetime(*args, tzinfo=HCM)


def _both(a):
    """The per-object class and the SQL annotation's class must agree."""
    annotated = Assignment.objects.with_timeliness().get(pk=a.pk).timeliness
    per_object = Assignment.objects.get(pk=a.pk).get_timeliness()
    assert annotated == (per_object.value if per_object else None)
    return per_object


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (local(2026, 6, 30, 0, 0), Timeliness.NOT_YET_DUE),
        (local(2026, 6, 30, 23, 59, 59), Timeliness.NOT_YET_DUE),  # the deadline day itself
        (local(2026, 7, 1, 0, 0), Timeliness.OVERDUE),  # midnight local time
        # 30 June 23:30 UTC is already 1 July 06:30 in Hà Nội: overdue.
        (dt.datetime(2026, 6, 30, 23, 30, tzinfo=dt.UTC), Timeliness.OVERDUE),
        # 30 June 16:59 UTC is 23:59 local: still due today.
        (dt.datetime(2026, 6, 30, 16, 59, tzinfo=dt.UTC), Timeliness.NOT_YET_DUE),
    ],
)
def test_issued_assignment_around_the_deadline(now, expected, task, head_a):
    a = make_assignment(task, head_a.unit, deadline=DEADLINE)
    with time_machine.travel(now, tick=False):
        assert _both(a) == expected


def test_started_work_is_in_progress_on_time_then_overdue(task, head_a):
    a = make_assignment(task, head_a.unit, status=Status.IN_PROGRESS, deadline=DEADLINE)
    with time_machine.travel(local(2026, 6, 30, 12), tick=False):
        assert _both(a) == Timeliness.ON_TIME
    with time_machine.travel(local(2026, 7, 1, 0, 0, 1), tick=False):
        assert _both(a) == Timeliness.OVERDUE


@pytest.mark.parametrize(
    ("submitted", "expected"),
    [
        (local(2026, 6, 30, 23, 59), Timeliness.COMPLETED_ON_TIME),
        (local(2026, 7, 1, 0, 0), Timeliness.COMPLETED_LATE),
        # Stored in UTC: 30 June 17:30 UTC is 1 July 00:30 local, late.
        (dt.datetime(2026, 6, 30, 17, 30, tzinfo=dt.UTC), Timeliness.COMPLETED_LATE),
    ],
)
def test_completed_on_time_or_late(submitted, expected, task, head_a, leader):
    a = make_assignment(task, head_a.unit, status=Status.IN_PROGRESS, deadline=DEADLINE)
    with time_machine.travel(submitted, tick=False):
        a.submit(by=head_a)
    with time_machine.travel(local(2026, 8, 15, 9), tick=False):
        a.accept(by=leader)
        assert _both(a) == expected


def test_submitted_in_time_is_not_overdue_while_awaiting_acceptance(task, head_a):
    a = make_assignment(task, head_a.unit, status=Status.IN_PROGRESS, deadline=DEADLINE)
    with time_machine.travel(local(2026, 6, 29, 9), tick=False):
        a.submit(by=head_a)
    with time_machine.travel(local(2026, 7, 20, 9), tick=False):
        assert _both(a) == Timeliness.ON_TIME


def test_draft_and_cancelled_have_no_class(task, head_a, head_b):
    draft = make_assignment(task, head_a.unit, status=Status.DRAFT)
    cancelled = make_assignment(task, head_b.unit, status=Status.CANCELLED)
    assert _both(draft) is None
    assert _both(cancelled) is None


def test_annotation_agrees_with_rule_over_a_generated_set(group, leader, city, django_assert_num_queries):
    """Hundreds of random assignments: one query annotates them all, and agrees row by row."""
    from tasks_app.models import Unit
    from tests.conftest import make_official

    rng = random.Random(2026)
    units = []
    for i in range(40):
        unit = Unit.objects.create(code=f"T{i:03d}", name=f"Xã thử {i}", kind=Unit.Kind.COMMUNE, parent=city)
        make_official(f"head-t{i}", unit, head=True)
        units.append(unit)
    tasks = [
        Task.objects.create(
            group=group,
            code=f"G-{n}",
            number=n,
            title=f"Nhiệm vụ {n}",
            description="Nội dung",
            deliverable="Báo cáo",
            acceptance_criteria="Đạt",
            authority=leader,
        )
        for n in range(1, 9)
    ]
    base = dt.date(2026, 3, 1)
    for t in tasks:
        for unit in units:
            status = rng.choice(list(Status))
            deadline = base + dt.timedelta(days=rng.randint(0, 200))
            moment = dt.datetime.combine(
                deadline, dt.time(rng.randint(0, 23), rng.choice([0, 59])), HCM
            ) + dt.timedelta(days=rng.randint(-3, 3))
            Assignment.objects.filter(pk=make_assignment(t, unit, status=Status.DRAFT, deadline=deadline).pk).update(
                status=status,
                submitted_at=moment if status in (Status.SUBMITTED, Status.ACCEPTED) else None,
                completed_at=moment if status == Status.ACCEPTED else None,
            )
    today = dt.date(2026, 6, 15)
    with django_assert_num_queries(1):
        rows = list(Assignment.objects.with_timeliness(today))
    assert len(rows) == 320
    classes = set()
    for row in rows:
        rule = row.get_timeliness(today)
        assert row.timeliness == (rule.value if rule else None), (row.status, row.deadline, row.submitted_at)
        classes.add(row.timeliness)
    assert classes == {None, *Timeliness.values}
