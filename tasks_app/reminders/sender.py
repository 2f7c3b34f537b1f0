"""Delivering the ledger: claim a recipient's due rows on one channel, send one digest, record it.

A sender claims rows with one conditional UPDATE (pending and due, or claimed so long ago that
their sender must have died) and goes on only with the rows it claimed, so two workers — or a
worker and the dispatcher's copy of the same job — never send the same row. The remaining window
is a crash between the provider accepting the message and our UPDATE to `sent`: the row is sent
again after the claim times out (at least once); email carries a stable Message-ID for that case.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from tasks_app.models import Official
from tasks_app.status import OPEN

from .channels import CHANNELS, ChannelError, Digest, DigestItem
from .models import Delivery, ReminderPolicy
from .policy import PolicyRules, local_now


def backoff(attempts: int) -> dt.timedelta:
    """Wait before attempt `attempts + 1`: base, 2×base, 4×base… capped."""
    seconds = settings.REMINDER_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return dt.timedelta(seconds=min(seconds, settings.REMINDER_RETRY_MAX_SECONDS))


@dataclass
class SendOutcome:
    claimed: int = 0
    sent: int = 0
    skipped: int = 0
    retry_in: dt.timedelta | None = None
    error: str = ""


def _claimable(now: dt.datetime) -> Q:
    stale = now - dt.timedelta(seconds=settings.REMINDER_CLAIM_TIMEOUT)
    return Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now) | Q(
        status=Delivery.Status.SENDING, claimed_at__lt=stale
    )


def deliver(recipient_id: int, channel: str, *, now: dt.datetime | None = None, force: bool = False) -> SendOutcome:
    """Send `recipient_id`'s due rows on `channel` as one digest. Raises ChannelError (after
    recording it) when the channel failed, so the Celery task retries."""
    now = now or timezone.now()
    outcome = SendOutcome()
    policy = ReminderPolicy.default()
    if not force and not PolicyRules(policy).in_send_window(now):
        return outcome  # quiet hours: the dispatcher sends it in the morning
    token = uuid.uuid4().hex
    outcome.claimed = Delivery.objects.filter(_claimable(now), recipient_id=recipient_id, channel=channel).update(
        status=Delivery.Status.SENDING, claim_token=token, claimed_at=now, attempts=F("attempts") + 1
    )
    if not outcome.claimed:
        return outcome
    mine = Delivery.objects.filter(claim_token=token, status=Delivery.Status.SENDING)
    rows = list(mine.select_related("assignment__task", "assignment__unit").order_by("deadline", "assignment_id"))
    # Work completed or cancelled since the sweep gets nothing more.
    closed = [r.pk for r in rows if r.assignment.status not in OPEN]
    if closed:
        Delivery.objects.filter(pk__in=closed).update(
            status=Delivery.Status.SKIPPED, last_error="phân công đã kết thúc / assignment closed", claim_token=""
        )
        outcome.skipped = len(closed)
    rows = [r for r in rows if r.pk not in closed]
    if not rows:
        return outcome
    recipient = Official.objects.select_related("user").get(pk=recipient_id)
    day = timezone.localdate(now)
    # One line per assignment: an older unsent stage is covered by the newest one.
    latest = {}
    for row in rows:
        if row.assignment_id not in latest or row.offset_days > latest[row.assignment_id].offset_days:
            latest[row.assignment_id] = row
    digest = Digest(
        recipient=recipient,
        day=day,
        key=f"{recipient_id}-{channel}-{token}",
        items=[
            DigestItem(r.assignment, r.stage, r.offset_days, r.deadline, r.recipient_role, day)
            for r in sorted(latest.values(), key=lambda r: (r.deadline, r.assignment_id))
        ],
    )
    try:
        provider_id = CHANNELS[channel].send(recipient, digest)
    except ChannelError as exc:
        attempts = max(r.attempts for r in rows)
        outcome.retry_in = backoff(attempts)
        outcome.error = str(exc)
        mine.update(
            status=Case(
                When(attempts__gte=policy.max_attempts, then=Value(Delivery.Status.DEAD)),
                default=Value(Delivery.Status.PENDING),
            ),
            last_error=str(exc)[:2000],
            next_attempt_at=now + outcome.retry_in,
            claim_token="",
        )
        exc.retry_in = outcome.retry_in
        exc.gave_up = attempts >= policy.max_attempts
        raise
    outcome.sent = mine.update(
        status=Delivery.Status.SENT,
        sent_at=timezone.now(),
        provider_id=provider_id[:200],
        last_error="",
        claim_token="",
    )
    return outcome


def due_pairs(now: dt.datetime | None = None) -> list[tuple[int, str]]:
    """(recipient, channel) pairs with rows to send now, including rows whose sender died."""
    now = now or timezone.now()
    return list(Delivery.objects.filter(_claimable(now)).values_list("recipient_id", "channel").distinct().order_by())


def in_send_window(now: dt.datetime | None = None) -> bool:
    return PolicyRules(ReminderPolicy.default()).in_send_window(now or local_now())
