"""Handoff notices: each change of hands on an assignment told to whoever acts next.

- submitted → the authority;
- returned (with the reason) → the responsible official and the unit head;
- accepted → the responsible official and the unit head;
- extension requested → the authority;
- extension decided → the responsible official and the unit head (and the requester).

They share the reminders' ledger and channels. `record` runs inside the lifecycle's transaction
(through `events.handoff`): it writes the `Handoff`, one `Delivery` row of kind "handoff" per
recipient and channel under the ledger's unique key (stage `handoff-<id>`), and the in-app feed
item at once. A rolled-back change rolls all of that back, so nothing is ever sent for it; the
e-mail and Zalo rows are enqueued after commit and sent by `deliver`, which claims rows exactly as
the reminder sender does, so a row goes out once however many workers or retries there are.

Quiet hours and the digest: the in-app feed is silent and gets the notice at once, at any hour.
E-mail and Zalo obey the reminder policy's send window (`send_hour` ≤ hour < `send_until_hour`,
local time): inside it a notice leaves as soon as it is committed, on its own message, not held
for the next morning's digest; outside it, it waits and the dispatcher sends it when the window
opens. Several notices waiting for one recipient then leave as one message. ZNS is not used:
its messages need a template registered with Zalo for each kind of text.
"""

from __future__ import annotations

import datetime as dt
import smtplib
import uuid

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.dispatch import receiver
from django.template.loader import render_to_string
from django.utils import timezone, translation

from tasks_app import events
from tasks_app.models import Official
from tasks_app.scope import ActorScope

from .channels import ZALO_TEXT_LIMIT, ChannelError, ZaloClient, assignment_url, send_email
from .models import Channel, Delivery, FeedItem, Handoff, RecipientRole, ReminderPolicy
from .policy import PolicyRules
from .sender import backoff

# Channels a handoff notice uses, when the plan's reminder policy has them; the feed always.
HANDOFF_CHANNELS = (Channel.FEED, Channel.EMAIL, Channel.ZALO)
TO_AUTHORITY = (Handoff.Kind.SUBMITTED, Handoff.Kind.EXTENSION_REQUESTED)


def _policy(assignment) -> ReminderPolicy:
    plan_id = assignment.task.group.plan_id
    return ReminderPolicy.objects.filter(plan_id=plan_id).first() or ReminderPolicy.default()


def recipients(assignment, kind: str, extension=None) -> list[tuple[int, str]]:
    """(official id, role) of who hears of this handoff, each once."""
    if kind in TO_AUTHORITY:
        wanted = [(assignment.authority_id, RecipientRole.AUTHORITY)]
    else:
        wanted = [
            (assignment.responsible_id, RecipientRole.RESPONSIBLE),
            (assignment.unit.head_id, RecipientRole.HEAD),
        ]
        if extension is not None and extension.requested_by_id:
            wanted.append((extension.requested_by_id, RecipientRole.RESPONSIBLE))
    seen, result = set(), []
    for official_id, role in wanted:
        if official_id and official_id not in seen:
            seen.add(official_id)
            result.append((official_id, role))
    return result


def _skip_reason(official: Official, channel: str) -> str:
    if channel == Channel.EMAIL and not official.user.email:
        return "không có địa chỉ email / no email address"
    if channel == Channel.ZALO and not official.zalo_user_id:
        return "không có Zalo user id / no Zalo user id"
    return ""


def record(assignment, kind: str, *, actor: ActorScope, note: str = "", extension=None) -> Handoff:
    """Record the handoff and its notices in the caller's transaction; send after commit."""
    now = timezone.now()
    handoff = Handoff.objects.create(
        assignment=assignment,
        kind=kind,
        actor_id=actor.official_id,
        actor_label=actor.label,
        note=note or "",
        extension=extension,
        created_at=now,
    )
    targets = recipients(assignment, kind, extension)
    # The one who acted needs no notice of their own act.
    targets = [(pk, role) for pk, role in targets if pk != actor.official_id]
    if not targets:
        return handoff
    officials = Official.objects.select_related("user").in_bulk([pk for pk, _ in targets])
    policy = _policy(assignment)
    channels = [c for c in HANDOFF_CHANNELS if c == Channel.FEED or c in policy.channels]
    day = timezone.localdate(now)
    rows, feed = [], []
    for official_id, role in targets:
        official = officials[official_id]
        for channel in channels:
            row = Delivery(
                kind=Delivery.Kind.HANDOFF,
                handoff=handoff,
                assignment=assignment,
                stage=handoff.stage,
                offset_days=0,
                deadline=assignment.deadline,
                recipient=official,
                recipient_role=role,
                channel=channel,
                day=day,
                next_attempt_at=now,
            )
            reason = _skip_reason(official, channel)
            if reason:
                row.status, row.last_error = Delivery.Status.SKIPPED, reason
            elif channel == Channel.FEED:
                # In-app at once, in this transaction: it exists exactly when the change does.
                row.status, row.sent_at, row.attempts = Delivery.Status.SENT, now, 1
                feed.append(
                    FeedItem(
                        official=official,
                        assignment=assignment,
                        handoff=handoff,
                        stage=handoff.stage,
                        offset_days=0,
                        deadline=assignment.deadline,
                        recipient_role=role,
                        created_at=now,
                    )
                )
            rows.append(row)
    # ON CONFLICT DO NOTHING on the ledger's key: a notice is recorded once, whatever calls twice.
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    FeedItem.objects.bulk_create(feed)
    pending = sorted({(r.recipient_id, r.channel) for r in rows if r.status == Delivery.Status.PENDING})
    if pending:
        transaction.on_commit(lambda: [enqueue(rid, channel) for rid, channel in pending])
    return handoff


@receiver(events.handoff, dispatch_uid="reminders.record_handoff")
def _on_handoff(sender, assignment, kind, actor, note="", extension=None, **kwargs):
    record(assignment, kind, actor=actor, note=note, extension=extension)


def enqueue(recipient_id: int, channel: str) -> None:
    from .tasks import send_handoffs

    send_handoffs.delay(recipient_id, channel)


# --- sending -----------------------------------------------------------------------------------


def _claimable(now: dt.datetime):
    from .sender import _claimable as claimable

    return claimable(now)


def _render(recipient: Official, handoffs: list[Handoff]) -> dict:
    return {
        "recipient": recipient,
        "handoffs": [{"h": h, "a": h.assignment, "url": assignment_url(h.assignment_id)} for h in handoffs],
        "site_url": settings.SITE_URL,
    }


def _send(channel: str, recipient: Official, handoffs: list[Handoff], key: str) -> str:
    context = _render(recipient, handoffs)
    with translation.override(recipient.language):
        if channel == Channel.EMAIL:
            domain = settings.SITE_URL.split("//", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "localhost"
            try:
                return send_email("handoff", recipient.email, context, headers={"Message-ID": f"<{key}@{domain}>"})
            except (smtplib.SMTPException, OSError) as exc:
                raise ChannelError(f"SMTP: {exc}") from exc
        text = render_to_string("reminders/zalo-handoff.txt", context).strip()
    if len(text) > ZALO_TEXT_LIMIT:
        text = text[: ZALO_TEXT_LIMIT - 1] + "…"
    data = ZaloClient().post(
        f"{settings.ZALO_API_BASE}/v3.0/oa/message/cs",
        {"recipient": {"user_id": recipient.zalo_user_id}, "message": {"text": text}},
    )
    return str((data.get("data") or {}).get("message_id", ""))


def deliver(recipient_id: int, channel: str, *, now: dt.datetime | None = None, force: bool = False) -> int:
    """Send `recipient_id`'s due handoff notices on `channel` as one message; the number of rows
    sent. A channel failure is recorded on the rows (retried with backoff) and re-raised."""
    now = now or timezone.now()
    policy = ReminderPolicy.default()
    if not force and not PolicyRules(policy).in_send_window(now):
        return 0  # quiet hours: the dispatcher sends them when the window opens
    token = uuid.uuid4().hex
    claimed = Delivery.objects.filter(
        _claimable(now), kind=Delivery.Kind.HANDOFF, recipient_id=recipient_id, channel=channel
    ).update(status=Delivery.Status.SENDING, claim_token=token, claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return 0
    mine = Delivery.objects.filter(claim_token=token, status=Delivery.Status.SENDING)
    rows = list(
        mine.select_related("handoff__assignment__task", "handoff__assignment__unit", "handoff__extension").order_by(
            "handoff__created_at", "pk"
        )
    )
    recipient = Official.objects.select_related("user").get(pk=recipient_id)
    try:
        provider_id = _send(channel, recipient, [r.handoff for r in rows], f"handoff-{recipient_id}-{channel}-{token}")
    except ChannelError as exc:
        attempts = max(r.attempts for r in rows)
        retry_in = backoff(attempts)
        gave_up = attempts >= policy.max_attempts
        mine.update(
            status=Delivery.Status.DEAD if gave_up else Delivery.Status.PENDING,
            last_error=str(exc)[:2000],
            next_attempt_at=now + retry_in,
            claim_token="",
        )
        exc.retry_in, exc.gave_up = retry_in, gave_up
        raise
    return mine.update(
        status=Delivery.Status.SENT,
        sent_at=timezone.now(),
        provider_id=provider_id[:200],
        last_error="",
        claim_token="",
    )


def due_pairs(now: dt.datetime | None = None) -> list[tuple[int, str]]:
    """(recipient, channel) pairs with handoff notices to send now, including a dead sender's."""
    now = now or timezone.now()
    return list(
        Delivery.objects.filter(_claimable(now), kind=Delivery.Kind.HANDOFF)
        .values_list("recipient_id", "channel")
        .distinct()
        .order_by()
    )
