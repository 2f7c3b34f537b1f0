"""Fixtures for the KPI, reports and import tests: assignments in known states on known dates."""

import datetime as dt
import zoneinfo

import pytest

from tasks_app.models import Task
from tasks_app.status import Status
from tests.conftest import make_assignment

HCM = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=HCM)


@pytest.fixture
def make_task(group, leader):
    """A task of the plan with its clears; `n` keeps codes and numbers distinct."""
    counter = iter(range(100, 10_000))

    def make(deadline, title=None, group_=None):
        n = next(counter)
        return Task.objects.create(
            group=group_ or group,
            code=f"2026-T{n}",
            number=n,
            title=title or f"Nhiệm vụ {n}",
            description=f"Nội dung nhiệm vụ {n}",
            deliverable="Báo cáo kết quả",
            acceptance_criteria="Được lãnh đạo thành phố nghiệm thu",
            default_deadline=deadline,
            authority=leader,
        )

    return make


@pytest.fixture
def give(make_task):
    """give(unit, deadline, state, ...) → an assignment of a new task in a known state.

    state: "on_time", "late", "open" (in progress), "submitted_late", "draft", "cancelled".
    """

    def make(unit, deadline, state, *, returns=0, responsible=None, done=None, original=None):
        task = make_task(original or deadline)
        extra = {"return_count": returns}
        if state == "on_time":
            done = done or deadline - dt.timedelta(days=2)
            extra.update(status=Status.ACCEPTED, submitted_at=at(done), completed_at=at(done), progress=100)
        elif state == "late":
            done = done or deadline + dt.timedelta(days=5)
            extra.update(status=Status.ACCEPTED, submitted_at=at(done), completed_at=at(done), progress=100)
        elif state == "open":
            extra.update(status=Status.IN_PROGRESS, progress=40)
        elif state == "draft":
            extra.update(status=Status.DRAFT)
        elif state == "cancelled":
            extra.update(status=Status.CANCELLED)
        else:
            raise ValueError(state)
        assignment = make_assignment(task, unit, deadline=deadline, **extra)
        changed = {}
        if responsible is not None:
            changed["responsible"] = responsible
        if original is not None:
            changed["original_deadline"] = original
        if changed:
            for name, value in changed.items():
                setattr(assignment, name, value)
            assignment.save()
        return assignment

    return make
