"""Operations across models (one model's state changes are methods; see lifecycle.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _t
from simple_history.utils import bulk_create_with_history

from tasks_app import figures, lifecycle
from tasks_app.models import Assignment, Task, Unit
from tasks_app.scope import actor_scope
from tasks_app.status import Status


def commune_units() -> QuerySet[Unit]:
    """The commune-level units (phường, xã, đặc khu) a task "for all communes" goes to."""
    return Unit.objects.filter(kind__in=Unit.COMMUNE_LEVEL)


def fan_out(
    task: Task,
    units: Iterable[Unit],
    *,
    role: str,
    deadline: dt.date | None = None,
    by: Any = None,
    issue: bool = False,
) -> list[Assignment]:
    """Give one task to many units: one assignment per unit, in one transaction.

    The responsible official defaults to each unit's head; deadline and authority default to the
    task's. With issue=True every assignment must have its six clears or none is created.
    A constant number of queries whatever the number of units.
    """
    if role not in Assignment.Role.values:
        raise ValidationError({"role": _t("Vai trò không hợp lệ: %(role)s") % {"role": role}})
    units = list(units.select_related(None) if hasattr(units, "select_related") else units)
    scope = actor_scope(by)
    with transaction.atomic():
        taken = set(
            Assignment.objects.filter(task=task, unit__in=[u.pk for u in units]).values_list("unit__code", flat=True)
        )
        if taken:
            raise ValidationError(
                _t("Nhiệm vụ %(task)s đã được giao cho: %(units)s")
                % {"task": task.code, "units": ", ".join(sorted(taken))},
                code="duplicate_assignment",
            )
        deadline = deadline or task.default_deadline
        assignments = [
            Assignment(
                task=task,
                unit=unit,
                role=role,
                responsible_id=unit.head_id,
                deadline=deadline,
                authority_id=task.authority_id,
                status=Status.DRAFT,
            )
            for unit in units
        ]

        def create(rows: list[Assignment]) -> list[Assignment]:
            return bulk_create_with_history(
                rows, Assignment, batch_size=500, default_user=scope.user, default_change_reason="fan-out"
            )

        created = (
            lifecycle.issue_new(assignments, by=by, authority_id=task.authority_id, create=create)
            if issue
            else create(assignments)
        )
        # bulk_create sends no post_save: move the figures version here (see tasks_app.figures).
        figures.bump()
        return created
