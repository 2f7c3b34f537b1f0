"""Delivering the ledger: claim a recipient's due rows on one channel, send them, record them.

First the sender expands the recipient's pending digests on the channel (what the sweep recorded,
one row per recipient, channel and day: `sweep.expand`) into per-assignment ledger rows; from the
claim on, everything is per row as before.

A sender claims rows with one conditional UPDATE (pending and due, or claimed so long ago that
their sender must have died) and goes on only with the rows it claimed, so two workers — or a
worker and the dispatcher's copy of the same job — never send the same row. Only rows whose plan's
policy has its send window open are claimed; attempts and the retry time come from that policy too.

The rows become one or more messages (`channel.split`: a Zalo text has a length limit). Each
message's key — the e-mail Message-ID, the ZNS tracking_id — is a hash of its ledger rows' ids and
is stored on the rows (`message_key`) before sending, so a message sent again (after a failure or a
crash) carries the same key and a mail system or Zalo can drop the copy. A row is marked sent only
when the message carrying it was accepted.

After the provider's acceptance the sender notes it in its journal (journal.py) and then records
`sent`, retrying until the database answers; a sender that dies in between leaves its journal for
the next sender to replay. What remains is a crash between the provider's acceptance and the
journal's fsync (microseconds), and a provider that accepts but answers after our timeout: both
are sent again with the same key (see `uncertain_retry`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from tasks_app.models import Official
from tasks_app.status import OPEN

from . import journal
from .channels import CHANNELS, ChannelError, Digest, DigestItem
from .models import NOTICE_PREFIX, Channel, Delivery, DueDigest, Handoff, RecipientRole, notice_stage
from .policy import PolicyBook, local_now


def backoff(attempts: int) -> dt.timedelta:
    """Wait before attempt `attempts + 1`: base, 2×base, 4×base… capped."""
    seconds = settings.REMINDER_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return dt.timedelta(seconds=min(seconds, settings.REMINDER_RETRY_MAX_SECONDS))


def message_key(row_ids: list[int]) -> str:
    """The key of the message carrying these ledger rows: the same rows, the same key."""
    return hashlib.sha256(",".join(map(str, sorted(row_ids))).encode()).hexdigest()[:32]


@dataclass
class SendOutcome:
    claimed: int = 0
    sent: int = 0
    skipped: int = 0
    messages: int = 0
    retry_in: dt.timedelta | None = None
    error: str = ""


def claimable(now: dt.datetime) -> Q:
    stale = now - dt.timedelta(seconds=settings.REMINDER_CLAIM_TIMEOUT)
    return Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now) | Q(
        status=Delivery.Status.SENDING, claimed_at__lt=stale
    )


def _item_key(row: Delivery) -> tuple[int, str]:
    """Rows that make one line of a digest: one assignment's reminders (the newest stage covers an
    older unsent one). Any other kind of row (stage "notice-…") is a line of its own."""
    return (row.assignment_id, "reminder" if not row.stage.startswith(NOTICE_PREFIX) else row.stage)


def _handoffs(rows: list[Delivery]) -> dict[str, Handoff]:
    """The events of the notice rows among `rows`, by stage, in one query: their text carries the
    reason of a return, the decision on an extension and its new deadline."""
    ids = set()
    for row in rows:
        if row.stage.startswith(NOTICE_PREFIX):
            ref = row.stage.rsplit("@", 1)[-1]
            if ref.isdigit():
                ids.add(int(ref))
    if not ids:
        return {}
    found = Handoff.objects.filter(pk__in=ids).select_related("assignment__task", "assignment__unit", "extension")
    return {h.stage: h for h in found}


def _items(rows: list[Delivery], day: dt.date) -> list[DigestItem]:
    lines: dict[tuple[int, str], list[Delivery]] = {}
    for row in rows:
        lines.setdefault(_item_key(row), []).append(row)
    handoffs = _handoffs(rows)
    items = []
    for group in lines.values():
        newest = max(group, key=lambda r: r.offset_days)
        items.append(
            DigestItem(
                newest.assignment,
                newest.stage,
                newest.offset_days,
                newest.deadline,
                newest.recipient_role,
                day,
                row_ids=[r.pk for r in group],
                handoff=handoffs.get(newest.stage),
            )
        )
    return sorted(items, key=lambda i: (i.deadline, i.assignment.pk, i.stage))


def _messages(channel: str, recipient: Official, rows: list[Delivery], day: dt.date) -> list[Digest]:
    """The messages to send: first those a failed or dead sender already built (same rows, same
    key, so a copy is recognisable), then the new rows split as the channel needs."""
    keyed: dict[str, list[Delivery]] = {}
    fresh = []
    for row in rows:
        if row.message_key:
            keyed.setdefault(row.message_key, []).append(row)
        else:
            fresh.append(row)
    parts = [Digest(recipient, day, key, _items(group, day)) for key, group in keyed.items()]
    if fresh:
        for part in CHANNELS[channel].split(Digest(recipient, day, items=_items(fresh, day))):
            part.key = message_key(part.row_ids)
            parts.append(part)
            Delivery.objects.filter(pk__in=part.row_ids).update(message_key=part.key)
    return parts


def _fail(rows: list[Delivery], exc: ChannelError, book: PolicyBook, now: dt.datetime) -> None:
    """Put the rows of unsent messages back, each per its plan's policy: dead after the policy's
    attempts, else due again after the backoff, inside the policy's send window. A message whose
    fate is unknown (a Zalo answer that never came) waits at least REMINDER_UNCERTAIN_RETRY_SECONDS,
    so that an acceptance answered late is not met by a copy at once."""
    attempts = max(r.attempts for r in rows)
    wait = backoff(attempts)
    if getattr(exc, "uncertain", False):
        wait = max(wait, dt.timedelta(seconds=settings.REMINDER_UNCERTAIN_RETRY_SECONDS))
    exc.retry_in = wait
    exc.gave_up = True
    for row in rows:
        policy = book.for_plan(row.assignment.task.group.plan_id)
        if row.attempts >= policy.max_attempts:
            row.status = Delivery.Status.DEAD
        else:
            row.status = Delivery.Status.PENDING
            exc.gave_up = False
        row.next_attempt_at = book.next_send_time(policy, now + wait)
        row.last_error = str(exc)[:2000]
        row.claim_token = ""
    Delivery.objects.bulk_update(rows, ["status", "next_attempt_at", "last_error", "claim_token"])


def deliver(recipient_id: int, channel: str, *, now: dt.datetime | None = None, force: bool = False) -> SendOutcome:
    """Send `recipient_id`'s due rows on `channel`. Raises ChannelError (after recording it) when
    a message failed, so the Celery task retries; the messages before it stay sent."""
    from .sweep import expand  # the sweep's statement, narrowed to this recipient and channel

    now = now or timezone.now()
    outcome = SendOutcome()
    journal.replay()  # acceptances a dead sender noted but could not record: not sent again
    expand(recipient_id, channel, now=now)  # the sweep's digests become ledger rows, once
    book = PolicyBook.load()
    window = Q() if force else book.sendable(now)
    if window is None:
        return outcome  # quiet hours for every plan: the dispatcher sends it in the morning
    token = uuid.uuid4().hex
    candidates = Delivery.objects.filter(claimable(now), window, recipient_id=recipient_id, channel=channel)
    # The conditions on the row itself are repeated outside the subquery: PostgreSQL re-checks
    # those (not the subquery) on a row another sender updated meanwhile, so no row is claimed twice.
    outcome.claimed = Delivery.objects.filter(
        claimable(now), recipient_id=recipient_id, channel=channel, pk__in=candidates.values("pk")
    ).update(status=Delivery.Status.SENDING, claim_token=token, claimed_at=now, attempts=F("attempts") + 1)
    if not outcome.claimed:
        return outcome
    rows = list(
        Delivery.objects.filter(claim_token=token, status=Delivery.Status.SENDING)
        .select_related("assignment__task__group", "assignment__unit", "assignment__responsible")
        .order_by("deadline", "assignment_id", "pk")
    )
    if len(rows) < outcome.claimed:
        # A row whose assignment is gone (the ledger has no foreign-key check, issue 14: deleted by
        # a transaction that committed while the sweep that wrote the row ran): nothing to send.
        outcome.skipped += (
            Delivery.objects.filter(claim_token=token, status=Delivery.Status.SENDING)
            .exclude(pk__in=[r.pk for r in rows])
            .update(
                status=Delivery.Status.SKIPPED, last_error="phân công đã bị xóa / assignment deleted", claim_token=""
            )
        )
    # Work completed or cancelled gets no more reminders; a handoff notice (an acceptance, for
    # one) is still news to its reader.
    closed = [r.pk for r in rows if r.assignment.status not in OPEN and not r.stage.startswith(NOTICE_PREFIX)]
    if closed:
        Delivery.objects.filter(pk__in=closed).update(
            status=Delivery.Status.SKIPPED, last_error="phân công đã kết thúc / assignment closed", claim_token=""
        )
        outcome.skipped += len(closed)
    rows = [r for r in rows if r.pk not in closed]
    if not rows:
        return outcome
    recipient = Official.objects.select_related("user").get(pk=recipient_id)
    by_id = {r.pk: r for r in rows}
    parts = _messages(channel, recipient, rows, timezone.localdate(now))
    for n, part in enumerate(parts):
        try:
            provider_id = CHANNELS[channel].send(recipient, part)
        except ChannelError as exc:
            unsent = [by_id[pk] for later in parts[n:] for pk in later.row_ids]
            _fail(unsent, exc, book, timezone.now())  # the wait counts from the failure
            outcome.retry_in, outcome.error = exc.retry_in, str(exc)
            raise
        outcome.sent += journal.note_and_record(part.key, part.row_ids, provider_id)
        outcome.messages += 1
    return outcome


def due_pairs(now: dt.datetime | None = None) -> list[tuple[int, str]]:
    """(recipient, channel) pairs with rows that may be sent now (their plan's window is open),
    including rows whose sender died, and pairs with digests not expanded yet (while any window is
    open: their rows' plans are known only once expanded)."""
    now = now or timezone.now()
    window = PolicyBook.load().sendable(now)
    if window is None:
        return []
    rows = Delivery.objects.filter(claimable(now), window).values_list("recipient_id", "channel").distinct().order_by()
    digests = DueDigest.objects.filter(status=DueDigest.Status.PENDING).values_list("recipient_id", "channel")
    return sorted({*rows, *digests.order_by()})


def in_send_window(now: dt.datetime | None = None) -> bool:
    """Whether any plan's policy may send now."""
    return PolicyBook.load().sendable(now or local_now()) is not None


def record_notice(
    assignment, kind: str, ref: int | str, recipient: Official, role: str, channels: list[str]
) -> list[Delivery]:
    """Record a handoff notice (`kind` in models.NOTICE_TEXTS, `ref` the event's id) for one
    recipient on the given channels, in the ledger beside the reminders, and queue its sending after
    commit. Recorded once per event (the ledger's unique key); a channel without an address is
    `skipped` as the sweep does."""
    from .sweep import SKIP_REASONS  # the sweep's wording of a missing address

    skip_reasons = {str(c.value): reason for c, reason in SKIP_REASONS.items()}

    addresses: dict[str, str] = {
        Channel.EMAIL: getattr(recipient.user, "email", ""),
        Channel.ZALO: recipient.zalo_user_id,
        Channel.ZNS: recipient.phone,
        Channel.FEED: "feed",
    }
    today = timezone.localdate()
    rows = [
        Delivery(
            assignment=assignment,
            stage=notice_stage(kind, ref),
            offset_days=0,
            deadline=assignment.deadline or today,
            recipient=recipient,
            recipient_role=role or RecipientRole.RESPONSIBLE,
            channel=channel,
            day=today,
            status=Delivery.Status.PENDING if addresses.get(channel) else Delivery.Status.SKIPPED,
            last_error="" if addresses.get(channel) else skip_reasons.get(channel, ""),
        )
        for channel in dict.fromkeys(channels)
    ]
    created = Delivery.objects.bulk_create(rows, ignore_conflicts=True)

    def enqueue():
        from .tasks import enqueue_send

        for channel in {r.channel for r in rows if r.status == Delivery.Status.PENDING}:
            enqueue_send(recipient.pk, channel)

    transaction.on_commit(enqueue)
    return created
