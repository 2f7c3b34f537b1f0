"""Handoff notices: each change of hands on an assignment told to whoever acts next.

- submitted → the authority;
- returned (with the reason) → the responsible official and the unit head;
- accepted → the responsible official and the unit head;
- extension requested → the authority;
- extension decided → the responsible official and the unit head (and the requester).

`record` runs inside the lifecycle's transaction (through `events.handoff`): it writes the
`Handoff` (who, when, the reason or note) and its notices in the reminders' ledger, stage
`notice-<kind>@<handoff id>`, one row per recipient and channel under the ledger's unique key. A
rolled-back change rolls all of that back, so nothing is ever sent for it.

- In-app at once: the feed item is written here, in the same transaction, at any hour, and its
  ledger row is recorded as sent; it stands on its own (a reminder never replaces it) and shows
  the reason.
- E-mail and Zalo: `sender.record_notice` records them and queues their sending after commit; the
  reminder sender delivers them like reminders (claim, retry, backoff, `dead`), inside each plan's
  send window (quiet hours: outside it they wait for the dispatcher when the window opens), as
  lines of their own under "Thông báo" — with any reminder then due for the same person, in one
  message. They are never held for the next morning's digest. ZNS is not used: its messages need a
  template registered with Zalo for each kind of text.
"""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver
from django.utils import timezone

from tasks_app import events
from tasks_app.models import Official
from tasks_app.scope import ActorScope

from .models import Channel, Delivery, FeedItem, Handoff, RecipientRole, ReminderPolicy
from .sender import record_notice

# Channels a handoff notice uses, when the plan's reminder policy has them; the feed always.
HANDOFF_CHANNELS = (Channel.FEED, Channel.EMAIL, Channel.ZALO)
TO_AUTHORITY = (Handoff.Kind.SUBMITTED, Handoff.Kind.EXTENSION_REQUESTED)


def _policy(assignment: Any) -> ReminderPolicy:
    plan_id = assignment.task.group.plan_id
    return ReminderPolicy.objects.filter(plan_id=plan_id).first() or ReminderPolicy.default()


def recipients(assignment: Any, kind: str, extension: Any = None) -> list[tuple[int, str]]:
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
    seen: set[int] = set()
    result: list[tuple[int, str]] = []
    for official_id, role in wanted:
        if official_id and official_id not in seen:
            seen.add(official_id)
            result.append((official_id, role))
    return result


def record(assignment: Any, kind: str, *, actor: ActorScope, note: str = "", extension: Any = None) -> Handoff:
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
    feed_rows: list[Delivery] = []
    feed: list[FeedItem] = []
    if Channel.FEED in channels:
        for official_id, role in targets:
            official = officials[official_id]
            feed_rows.append(
                Delivery(
                    assignment=assignment,
                    stage=handoff.stage,
                    offset_days=0,
                    deadline=assignment.deadline or day,
                    recipient=official,
                    recipient_role=role,
                    channel=Channel.FEED,
                    day=day,
                    status=Delivery.Status.SENT,
                    sent_at=now,
                    attempts=1,
                )
            )
            feed.append(
                FeedItem(
                    official=official,
                    assignment=assignment,
                    handoff=handoff,
                    stage=handoff.stage,
                    offset_days=0,
                    deadline=assignment.deadline or day,
                    recipient_role=role,
                    created_at=now,
                )
            )
    # ON CONFLICT DO NOTHING on the ledger's key: a notice is recorded once, whatever calls twice.
    Delivery.objects.bulk_create(feed_rows, ignore_conflicts=True)
    FeedItem.objects.bulk_create(feed)
    for official_id, role in targets:
        others: list[str] = [c for c in channels if c != Channel.FEED]
        if others:
            record_notice(assignment, kind, handoff.pk, officials[official_id], role, others)
    return handoff


@receiver(events.handoff, dispatch_uid="reminders.record_handoff")
def _on_handoff(
    sender: Any, assignment: Any, kind: str, actor: ActorScope, note: str = "", extension: Any = None, **kwargs: Any
) -> None:
    record(assignment, kind, actor=actor, note=note, extension=extension)
