"""The sweep: find, with set-based queries, what needs a reminder today and record it in the ledger.

The sweep never sends. It inserts ledger rows (`Delivery`) with INSERT … ON CONFLICT DO NOTHING
on the unique key (assignment, stage, recipient, channel), marks newly overdue assignments, and
after commit asks the senders (`tasks.send_reminders`) to deliver each recipient's pending rows.
Running it twice, or on two workers at once, creates nothing twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection, models, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Cast, Mod

from tasks_app import events
from tasks_app.models import Assignment, Official

from .models import Channel, Delivery, OverdueNotice, RecipientRole, ReminderPolicy
from .policy import DayWindow, PolicyRules, Stage, WorkingCalendar, local_now, window_for

# Any constant will do: it names the sweep's PostgreSQL advisory lock.
_SWEEP_LOCK_KEY = 0x5E3A_0004
_ROLE_PRIORITY = {RecipientRole.RESPONSIBLE: 0, RecipientRole.HEAD: 1, RecipientRole.AUTHORITY: 2}


class DaysSince(models.Func):
    """`day - field` in whole days, as an integer, on PostgreSQL and SQLite."""

    output_field = models.IntegerField()

    def __init__(self, day: dt.date, field_name: str):
        super().__init__(Cast(Value(day), models.DateField()), F(field_name))

    def as_postgresql(self, compiler, conn, **extra):
        # date - date is an integer number of days in PostgreSQL.
        return self.as_sql(compiler, conn, template="(%(expressions)s)", arg_joiner=" - ", **extra)

    def as_sqlite(self, compiler, conn, **extra):
        return self.as_sql(
            compiler,
            conn,
            template="CAST(julianday(%(expressions)s) AS INTEGER)",
            arg_joiner=") - julianday(",
            **extra,
        )


@dataclass(frozen=True)
class Planned:
    """One ledger row the sweep would record."""

    assignment_id: int
    stage: Stage
    recipient_id: int
    role: str
    channel: str
    skip_reason: str = ""


@dataclass
class SweepResult:
    day: dt.date
    working_day: bool = True
    planned: list[Planned] = field(default_factory=list)
    created: int = 0
    newly_overdue: int = 0
    enqueued: int = 0
    skipped_policies: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if not self.working_day:
            return f"{self.day:%d/%m/%Y}: not a working day, nothing due"
        return (
            f"{self.day:%d/%m/%Y}: {len(self.planned)} reminder(s) due, {self.created} new in the ledger, "
            f"{self.newly_overdue} newly overdue, {self.enqueued} recipient/channel send(s) enqueued"
        )


def _due_filter(rules: PolicyRules, window: DayWindow) -> Q:
    """Deadlines with a stage to send on window.day, as index-friendly ranges plus one modulo."""
    day, span = window.day, window.overdue_span
    q = Q()
    for k in rules.days_before:
        q |= Q(deadline__gte=day + dt.timedelta(days=k), deadline__lt=window.next + dt.timedelta(days=k))
    for e in rules.escalation_days:
        if e >= 1:
            q |= Q(deadline__gt=day - dt.timedelta(days=e + span), deadline__lte=day - dt.timedelta(days=e))
    # Repeats: day - deadline = a >= first, and a repeat day lies in (a - span, a].
    q |= Q(
        deadline__lte=day - dt.timedelta(days=rules.policy.overdue_first_day),
        overdue_phase__lt=span,
    )
    return q


def _policy_groups(policies: list[ReminderPolicy]):
    """(policy, assignment filter) pairs: each plan's own policy, then the default for the rest."""
    own = [p for p in policies if p.plan_id is not None]
    default = next((p for p in policies if p.plan_id is None), None) or ReminderPolicy()
    for policy in own:
        yield policy, Q(task__group__plan_id=policy.plan_id)
    yield default, ~Q(task__group__plan_id__in=[p.plan_id for p in own]) if own else Q()


def plan_day(day: dt.date, *, now: dt.datetime | None = None, force: bool = False) -> SweepResult:
    """What is due on `day`: ledger rows to record. `force` ignores the send hour (operator runs)."""
    calendar = WorkingCalendar.load()
    result = SweepResult(day=day)
    if not calendar.is_working_day(day):
        result.working_day = False
        return result
    window = window_for(day, calendar)
    now = now or local_now()
    due_rows = []
    for policy, plan_q in _policy_groups(list(ReminderPolicy.objects.all())):
        if not force and now.date() == day and now.hour < policy.send_hour:
            result.skipped_policies.append(str(policy))
            continue
        rules = PolicyRules(policy)
        rows = (
            Assignment.objects.open()
            .filter(plan_q, deadline__isnull=False)
            .annotate(overdue_phase=Mod(DaysSince(day, "deadline") - policy.overdue_first_day, policy.overdue_every))
            .filter(_due_filter(rules, window))
            .values_list("id", "deadline", "responsible_id", "unit__head_id", "authority_id")
        )
        for assignment_id, deadline, responsible_id, head_id, authority_id in rows:
            stage = rules.stage_on(deadline, window)
            if stage is None:
                continue
            by_role = {
                RecipientRole.RESPONSIBLE: responsible_id,
                RecipientRole.HEAD: head_id,
                RecipientRole.AUTHORITY: authority_id,
            }
            due_rows.append((assignment_id, stage, [(r, by_role[r]) for r in rules.roles_for(stage)], policy))

    recipient_ids = {rid for *_, recipients, _ in due_rows for _, rid in recipients if rid}
    addresses = {
        o["id"]: o
        for o in Official.objects.filter(id__in=recipient_ids).values("id", "user__email", "zalo_user_id", "phone")
    }
    for assignment_id, stage, recipients, policy in due_rows:
        # One row per person: the responsible official may also be the unit head.
        seen = {}
        for role, rid in recipients:
            if rid and (rid not in seen or _ROLE_PRIORITY[role] < _ROLE_PRIORITY[seen[rid]]):
                seen[rid] = role
        for rid, role in seen.items():
            for channel in policy.channels:
                result.planned.append(
                    Planned(assignment_id, stage, rid, role, channel, _skip_reason(channel, addresses.get(rid)))
                )
    return result


def _skip_reason(channel: str, address: dict | None) -> str:
    if address is None:
        return "không tìm thấy người nhận"
    if channel == Channel.EMAIL and not address["user__email"]:
        return "không có địa chỉ email / no email address"
    if channel == Channel.ZALO and not address["zalo_user_id"]:
        return "không có Zalo user id / no Zalo user id"
    if channel == Channel.ZNS and not address["phone"]:
        return "không có số điện thoại / no phone number"
    return ""


def _lock_sweep():
    """Serialise sweeps so the overdue events go out once. SQLite's IMMEDIATE transactions
    (see settings) already take the write lock at BEGIN."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_SWEEP_LOCK_KEY])


def _mark_overdue(day: dt.date) -> int:
    """Send OVERDUE once per assignment and deadline, when first seen past its deadline."""
    candidates = list(
        Assignment.objects.open()
        .filter(deadline__lt=day)
        .exclude(
            models.Exists(
                OverdueNotice.objects.filter(assignment_id=models.OuterRef("pk"), deadline=models.OuterRef("deadline"))
            )
        )
        .select_related("task", "unit")
    )
    if not candidates:
        return 0
    OverdueNotice.objects.bulk_create(
        [OverdueNotice(assignment_id=a.pk, deadline=a.deadline) for a in candidates], ignore_conflicts=True
    )
    for assignment in candidates:
        events.send(
            assignment,
            events.OVERDUE,
            actor_label="reminders",
            deadline=assignment.deadline.isoformat(),
            overdue_days=(day - assignment.deadline).days,
        )
    return len(candidates)


def run_sweep(
    day: dt.date | None = None,
    *,
    now: dt.datetime | None = None,
    force: bool = False,
    enqueue: Callable[[int, str], None] | None = None,
) -> SweepResult:
    """Record `day`'s reminders in the ledger and, after commit, enqueue their delivery."""
    now = now or local_now()
    day = day or now.date()
    with transaction.atomic():
        _lock_sweep()
        result = plan_day(day, now=now, force=force)
        rows = [
            Delivery(
                assignment_id=p.assignment_id,
                stage=p.stage.key,
                offset_days=p.stage.offset,
                deadline=p.stage.deadline,
                recipient_id=p.recipient_id,
                recipient_role=p.role,
                channel=p.channel,
                day=day,
                status=Delivery.Status.SKIPPED if p.skip_reason else Delivery.Status.PENDING,
                last_error=p.skip_reason,
                next_attempt_at=now,
            )
            for p in result.planned
        ]
        before = Delivery.objects.filter(day=day).count() if rows else 0
        Delivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=2000)
        result.created = Delivery.objects.filter(day=day).count() - before if rows else 0
        if day <= now.date():
            result.newly_overdue = _mark_overdue(day)
        if enqueue is not None:
            pairs = list(
                Delivery.objects.filter(day=day, status=Delivery.Status.PENDING)
                .values_list("recipient_id", "channel")
                .distinct()
                .order_by()
            )
            result.enqueued = len(pairs)
            transaction.on_commit(lambda: [enqueue(rid, channel) for rid, channel in pairs])
    return result
