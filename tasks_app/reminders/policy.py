"""The reminder calendar and stages: which reminder of an assignment is due on a given day.

Reminders go out on working days only. A working day follows Vietnam's calendar in the `holidays`
package (weekends, public holidays, Tết, and the make-up Saturdays it knows), corrected by the
admin's `HolidayOverride` rows: the national ones (no province) for everybody, and a province's
own for its work only (they win over a national row of the same date). `WorkingCalendar.load` is
the one place that reads them; the sweep keeps one calendar per province that has decisions of
its own (`calendars`), so a day off in Hà Nội moves no reminder in Hải Phòng.

A stage aims at a calendar day (the deadline minus 7, 3, 1 and 0 days; the deadline plus the
overdue days). When that day is not a working day the reminder moves:
- a reminder before the deadline moves *earlier*, to the last working day before it, so the
  warning still comes before the deadline (a deadline in Tết is announced before Tết);
- an overdue reminder moves *later*, to the next working day (nothing is overdue in advance).
So on a working day D the sweep sends the before-stages aimed at [D, next working day) and the
overdue stages aimed at (previous working day, D]. When several stages of one assignment fall in
that window, only the most urgent one is sent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

import holidays
from django.db.models import F, Q
from django.utils import timezone

from tasks_app.lifecycle import local_tz

from .models import HolidayOverride, RecipientRole, ReminderPolicy

ONE_DAY = dt.timedelta(days=1)
# Longest run of non-working days we search across (Tết with its weekends is about nine).
_MAX_GAP = 60


class WorkingCalendar:
    def __init__(self, overrides: dict[dt.date, bool] | None = None):
        self.overrides = overrides or {}
        self._vn = holidays.country_holidays("VN")

    @classmethod
    def load(cls, province_id: int | None = None) -> WorkingCalendar:
        """The calendar of a province (None: the national one): the national overrides, then the
        province's own, which win for their dates."""
        rows = HolidayOverride.objects.filter(Q(province__isnull=True) | Q(province_id=province_id))
        overrides: dict[dt.date, bool] = {}
        # National rows first (NULLS FIRST), so a province's own decision overwrites them.
        for day, working, _province in rows.order_by(F("province_id").asc(nulls_first=True)).values_list(
            "date", "is_working_day", "province_id"
        ):
            overrides[day] = working
        return cls(overrides)

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        # Knows Saturdays and Sundays, public holidays, Tết and the make-up working Saturdays.
        return self._vn.is_working_day(day)

    def previous_working_day(self, day: dt.date) -> dt.date:
        for n in range(1, _MAX_GAP):
            if self.is_working_day(day - n * ONE_DAY):
                return day - n * ONE_DAY
        return day - ONE_DAY

    def next_working_day(self, day: dt.date) -> dt.date:
        for n in range(1, _MAX_GAP):
            if self.is_working_day(day + n * ONE_DAY):
                return day + n * ONE_DAY
        return day + ONE_DAY


def calendars() -> list[tuple[WorkingCalendar, int | None]]:
    """The calendars in force: one per province with overrides of its own, then (None) the
    national calendar for every other province's work."""
    own = sorted(set(HolidayOverride.objects.filter(province__isnull=False).values_list("province_id", flat=True)))
    return [(WorkingCalendar.load(pid), pid) for pid in own] + [(WorkingCalendar.load(), None)]


@dataclass(frozen=True)
class Stage:
    """One reminder stage of one deadline: offset < 0 before, 0 on the day, > 0 days overdue."""

    offset: int
    deadline: dt.date

    @property
    def kind(self) -> str:
        if self.offset < 0:
            return "before"
        return "due" if self.offset == 0 else "overdue"

    @property
    def key(self) -> str:
        return f"{self.kind}-{abs(self.offset)}@{self.deadline.isoformat()}"


@dataclass(frozen=True)
class DayWindow:
    """The calendar days whose stages are sent on `day` (see the module docstring)."""

    day: dt.date
    previous: dt.date  # the working day before
    next: dt.date  # the working day after

    @property
    def overdue_span(self) -> int:
        return (self.day - self.previous).days


def window_for(day: dt.date, calendar: WorkingCalendar) -> DayWindow:
    return DayWindow(day, calendar.previous_working_day(day), calendar.next_working_day(day))


class PolicyRules:
    """A `ReminderPolicy` row turned into the rules the sweep and the preview apply."""

    def __init__(self, policy: ReminderPolicy):
        self.policy = policy

    @cached_property
    def days_before(self) -> list[int]:
        return sorted(set(self.policy.days_before))

    @cached_property
    def escalation_days(self) -> list[int]:
        return sorted({self.policy.escalate_head_after, self.policy.escalate_authority_after})

    def stage_on(self, deadline: dt.date, window: DayWindow) -> Stage | None:
        """The stage of this deadline to send on window.day, or None."""
        day = window.day
        if deadline >= day:
            # Before-stages aimed at [day, next working day): the most urgent (smallest k).
            for k in self.days_before:
                if day <= deadline - k * ONE_DAY < window.next:
                    return Stage(-k, deadline)
            return None
        overdue = (day - deadline).days
        first, every = self.policy.overdue_first_day, self.policy.overdue_every
        # Overdue stages aimed at (previous working day, day]: the latest one.
        for od in range(overdue, max(overdue - window.overdue_span, 0), -1):
            if (od >= first and (od - first) % every == 0) or od in self.escalation_days:
                return Stage(od, deadline)
        return None

    def roles_for(self, stage: Stage) -> list[str]:
        roles: list[str] = [RecipientRole.RESPONSIBLE]
        if stage.offset > 0 and stage.offset >= self.policy.escalate_head_after:
            roles.append(RecipientRole.HEAD)
        if stage.offset > 0 and stage.offset >= self.policy.escalate_authority_after:
            roles.append(RecipientRole.AUTHORITY)
        return roles

    def in_send_window(self, moment: dt.datetime) -> bool:
        hour = timezone.localtime(moment, local_tz()).hour
        return self.policy.send_hour <= hour < self.policy.send_until_hour


def local_now() -> dt.datetime:
    return timezone.localtime(timezone.now(), local_tz())


class PolicyBook:
    """Every stored policy, loaded once, answering for each plan which policy governs it: the plan's
    own row, or the default row (or the built-in default when none is stored). The sender asks it
    for the send window, the attempts and the retry time of each ledger row."""

    def __init__(self, policies: list[ReminderPolicy]):
        self.own = {p.plan_id: p for p in policies if p.plan_id is not None}
        self.default = next((p for p in policies if p.plan_id is None), None) or ReminderPolicy()

    @classmethod
    def load(cls) -> PolicyBook:
        return cls(list(ReminderPolicy.objects.all()))

    def for_plan(self, plan_id: int | None) -> ReminderPolicy:
        return self.own.get(plan_id, self.default) if plan_id is not None else self.default

    def sendable(self, moment: dt.datetime, plan_field: str = "assignment__task__group__plan_id") -> Q | None:
        """A filter on ledger rows whose plan's send window is open at `moment`; None when no
        window is open (nothing may be sent)."""
        open_own = [pid for pid, p in self.own.items() if PolicyRules(p).in_send_window(moment)]
        closed_own = [pid for pid in self.own if pid not in open_own]
        if PolicyRules(self.default).in_send_window(moment):
            return ~Q(**{f"{plan_field}__in": closed_own}) if closed_own else Q()
        return Q(**{f"{plan_field}__in": open_own}) if open_own else None

    def next_send_time(self, policy: ReminderPolicy, moment: dt.datetime) -> dt.datetime:
        """`moment` when the policy's window is open then, else the window's next opening (local time)."""
        local = timezone.localtime(moment, local_tz())
        if PolicyRules(policy).in_send_window(local):
            return moment
        opening = local.replace(hour=policy.send_hour, minute=0, second=0, microsecond=0)
        return opening if opening > local else opening + ONE_DAY
