"""Domain events, sent explicitly by the lifecycle (never from save()).

Receivers (webhooks, caches) connect here; each receiver defers its own I/O until the
transaction commits, so nothing is announced for a change that is rolled back.
"""

from django.dispatch import Signal

# Sent with: assignment, event (one of EVENTS), actor_label, and extra data in `data`.
assignment_event = Signal()
# The same event for each of many assignments at once (a fan-out issues 114): sent with
# `assignments` (a list) instead of `assignment`, so that receivers batch their I/O.
assignments_event = Signal()

STATUS_CHANGED = "assignment.status_changed"
PROGRESS_REPORTED = "assignment.progress_reported"
DEADLINE_CHANGED = "assignment.deadline_changed"
OVERDUE = "assignment.overdue"
EVENTS = (STATUS_CHANGED, PROGRESS_REPORTED, DEADLINE_CHANGED, OVERDUE)


def send(assignment, event: str, *, actor_label: str = "", **data) -> None:
    assignment_event.send(
        sender=type(assignment), assignment=assignment, event=event, actor_label=actor_label, data=data
    )


def send_many(assignments: list, event: str, *, actor_label: str = "", **data) -> None:
    if assignments:
        assignments_event.send(
            sender=type(assignments[0]), assignments=assignments, event=event, actor_label=actor_label, data=data
        )
