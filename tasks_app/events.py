"""Domain events, sent explicitly by the lifecycle (never from save()).

Receivers (webhooks, caches) connect here; each receiver defers its own I/O until the
transaction commits, so nothing is announced for a change that is rolled back.
"""

from django.dispatch import Signal

# Sent with: assignment, event (one of EVENTS), actor_label, and extra data in `data`.
assignment_event = Signal()
# The same event for each of many assignments at once (a fan-out issues 114, the reminder sweep
# finds 469 newly overdue): sent with `assignments` (a list) instead of `assignment`, so that
# receivers batch their I/O (the webhooks find their endpoints in one query), and with `each`, a
# dict of extra data by assignment id merged over `data` (e.g. each assignment's overdue days).
assignments_event = Signal()

STATUS_CHANGED = "assignment.status_changed"
PROGRESS_REPORTED = "assignment.progress_reported"
DEADLINE_CHANGED = "assignment.deadline_changed"
OVERDUE = "assignment.overdue"
EVENTS = (STATUS_CHANGED, PROGRESS_REPORTED, DEADLINE_CHANGED, OVERDUE)


# A change of hands (submitted, returned, accepted, extension requested or decided), sent inside the
# transaction that made it, with: assignment, kind, actor (an ActorScope), note, extension.
# The reminders app records the notices (tasks_app.reminders.handoffs).
handoff = Signal()


def send_handoff(assignment, kind: str, *, actor, note: str = "", extension=None) -> None:
    handoff.send(sender=type(assignment), assignment=assignment, kind=kind, actor=actor, note=note, extension=extension)


def send(assignment, event: str, *, actor_label: str = "", **data) -> None:
    assignment_event.send(
        sender=type(assignment), assignment=assignment, event=event, actor_label=actor_label, data=data
    )


def send_many(
    assignments: list, event: str, *, actor_label: str = "", each: dict[int, dict] | None = None, **data
) -> None:
    if assignments:
        assignments_event.send(
            sender=type(assignments[0]),
            assignments=assignments,
            event=event,
            actor_label=actor_label,
            data=data,
            each=each or {},
        )


def data_for(assignment, data: dict | None, each: dict[int, dict] | None) -> dict:
    """One assignment's data in an `assignments_event`: the common data, then its own."""
    own = (each or {}).get(assignment.pk)
    return {**(data or {}), **own} if own else dict(data or {})
