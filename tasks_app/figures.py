"""The figures version: one number that moves with every write of counted work.

Cached aggregates (the leader dashboard's three GROUP BYs) are keyed by it, so a change shows on
the very next load, in every process, whatever the cache backend. It is an explicit counter, not
a fingerprint read off the data, and it is moved inside the writer's transaction: a reader sees
the new number exactly when it can see the new rows, never before (which would cache old rows
under the new number) and never after.

Who moves it:
- every save or deletion of an assignment, a task or a field inspection through the model (the
  receivers below; the dashboard counts this month's inspections):
  the lifecycle's transitions, the admin, a shell;
- the bulk paths that bypass the model's signals call `bump()` themselves: fan-out, the plan
  importer and the scale data generator (the demo activity goes through the lifecycle).
`tests/test_figures_version.py` walks each of them.
"""

from __future__ import annotations

from typing import Any

from django.db.models import F
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from tasks_app.models import Assignment, FiguresVersion, Inspection, Task

_ROW = 1


def bump() -> None:
    """Move the version, in the caller's transaction (one UPDATE; the row lock is held to commit)."""
    rows = FiguresVersion.objects.filter(pk=_ROW)
    if not rows.update(value=F("value") + 1):
        # The first write of a fresh (or flushed) database: make the row, then move it; a
        # concurrent first writer's insert makes this one wait, never fail.
        FiguresVersion.objects.bulk_create([FiguresVersion(pk=_ROW, value=0)], ignore_conflicts=True)
        rows.update(value=F("value") + 1)


def current() -> int:
    return FiguresVersion.objects.filter(pk=_ROW).values_list("value", flat=True).first() or 0


@receiver(post_save, sender=Assignment, dispatch_uid="figures.assignment_saved")
@receiver(post_delete, sender=Assignment, dispatch_uid="figures.assignment_deleted")
@receiver(post_save, sender=Task, dispatch_uid="figures.task_saved")
@receiver(post_delete, sender=Task, dispatch_uid="figures.task_deleted")
@receiver(post_save, sender=Inspection, dispatch_uid="figures.inspection_saved")
@receiver(post_delete, sender=Inspection, dispatch_uid="figures.inspection_deleted")
def _model_written(sender: Any, **kwargs: Any) -> None:
    bump()
