"""Holiday overrides belong to a province, or explicitly to the whole country (no province): two
real provinces loaded (Hải Phòng 31 and Hà Nội 01), a day off decided in Hà Nội moves Hà Nội's
reminders and none of Hải Phòng's; a national decision moves both; a province's own decision wins
over the national one for its work. The calendar is read in one place
(`reminders.policy.WorkingCalendar.load`), the sweep plans each province's work on its calendar."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import IntegrityError, transaction

from tasks_app.models import Official, Plan, Task, TaskGroup, Unit
from tasks_app.reminders.models import Delivery, HolidayOverride
from tasks_app.reminders.policy import WorkingCalendar, calendars
from tasks_app.reminders.sweep import plan_day, run_sweep
from tests.conftest import make_assignment
from tests.fixtures_reminders import expand_all

HCM = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
COMMUNE = {"31": "10507", "01": "00097"}
DEADLINE = dt.date(2026, 7, 10)  # a Friday
WEDNESDAY, THURSDAY = dt.date(2026, 7, 8), dt.date(2026, 7, 9)


@pytest.fixture
def two_provinces(db):
    call_command("load_province", "31", "01", verbosity=0)
    assignments = {}
    for code in ("31", "01"):
        province = Unit.objects.get(code=code)
        plan = Plan.objects.create(province=province, year=2026, name="Kế hoạch 2026")
        group = TaskGroup.objects.create(plan=plan, number=1, title="Nhóm 1")
        task = Task.objects.create(
            group=group,
            code=f"{code}-HOL-1",
            number=1,
            title="Báo cáo",
            description="Báo cáo kết quả thực hiện",
            deliverable="Báo cáo",
            acceptance_criteria="Đạt",
            default_deadline=DEADLINE,
            authority=Official.objects.get(user__username=f"head-{code}"),
        )
        assignments[code] = make_assignment(task, Unit.objects.get(code=COMMUNE[code]))
    return assignments


def due(day: dt.date) -> set[tuple[int, str]]:
    """(assignment, stage) pairs the sweep would record on `day`."""
    return {(p.assignment_id, p.stage.key) for p in plan_day(day, force=True).rows()}


def test_a_day_off_in_hanoi_moves_hanois_reminder_and_not_haiphongs(two_provinces):
    hn, hp = two_provinces["01"], two_provinces["31"]
    before_1 = f"before-1@{DEADLINE.isoformat()}"
    # With no override, both are reminded one day before the deadline, on Thursday.
    assert due(THURSDAY) == {(hn.pk, before_1), (hp.pk, before_1)}
    assert due(WEDNESDAY) == set()

    HolidayOverride.objects.create(
        province=Unit.objects.get(code="01"), date=THURSDAY, is_working_day=False, name="Nghỉ thêm của Hà Nội"
    )

    # Hà Nội's reminder moves to the working day before (Wednesday); Hải Phòng's stays on Thursday.
    assert due(WEDNESDAY) == {(hn.pk, before_1)}
    assert due(THURSDAY) == {(hp.pk, before_1)}
    assert WorkingCalendar.load(Unit.objects.get(code="01").pk).is_working_day(THURSDAY) is False
    assert WorkingCalendar.load(Unit.objects.get(code="31").pk).is_working_day(THURSDAY) is True
    assert WorkingCalendar.load().is_working_day(THURSDAY) is True

    # The sweep records exactly that, on the day, in the ledger.
    with time_machine.travel(dt.datetime(2026, 7, 8, 9, 0, tzinfo=HCM), tick=False):
        run_sweep()
        expand_all()  # what each sender does first (issue 14)
    with time_machine.travel(dt.datetime(2026, 7, 9, 9, 0, tzinfo=HCM), tick=False):
        run_sweep()
        expand_all()  # what each sender does first (issue 14)
    recorded = set(Delivery.objects.values_list("assignment_id", "stage", "day").distinct())
    assert recorded == {(hn.pk, before_1, WEDNESDAY), (hp.pk, before_1, THURSDAY)}


def test_a_national_override_moves_both_and_a_provinces_own_decision_wins_for_its_work(two_provinces):
    hn, hp = two_provinces["01"], two_provinces["31"]
    before_1 = f"before-1@{DEADLINE.isoformat()}"
    HolidayOverride.objects.create(province=None, date=THURSDAY, is_working_day=False, name="Nghỉ toàn quốc")
    assert due(WEDNESDAY) == {(hn.pk, before_1), (hp.pk, before_1)}
    assert due(THURSDAY) == set()
    assert plan_day(THURSDAY, force=True).working_day is False

    # Hải Phòng decides to work that Thursday: its reminder is back on Thursday, Hà Nội's is not.
    HolidayOverride.objects.create(
        province=Unit.objects.get(code="31"), date=THURSDAY, is_working_day=True, name="Hải Phòng làm việc"
    )
    assert due(WEDNESDAY) == {(hn.pk, before_1)}
    assert due(THURSDAY) == {(hp.pk, before_1)}
    assert plan_day(THURSDAY, force=True).working_day is True
    # One calendar per province with decisions of its own, and the national one for the rest.
    assert [pid for _calendar, pid in calendars()] == [Unit.objects.get(code="31").pk, None]


def test_one_decision_per_date_nationally_and_per_province(two_provinces):
    hanoi = Unit.objects.get(code="01")
    HolidayOverride.objects.create(province=None, date=THURSDAY, is_working_day=False, name="Toàn quốc")
    HolidayOverride.objects.create(province=hanoi, date=THURSDAY, is_working_day=True, name="Hà Nội")
    HolidayOverride.objects.create(
        province=Unit.objects.get(code="31"), date=THURSDAY, is_working_day=True, name="Hải Phòng"
    )
    for province in (None, hanoi):
        with pytest.raises(IntegrityError), transaction.atomic():
            HolidayOverride.objects.create(province=province, date=THURSDAY, is_working_day=False, name="Lần hai")
    assert str(HolidayOverride.objects.get(province=None)) == "09/07/2026 — Toàn quốc (toàn quốc)"
