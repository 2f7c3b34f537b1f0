"""Operations across models (one model's state changes are methods; see lifecycle.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _t
from simple_history.utils import bulk_create_with_history

from tasks_app import figures, lifecycle
from tasks_app.models import Assignment, Official, Plan, SourceDocument, Task, TaskGroup, Unit
from tasks_app.scope import actor_scope, gives_within
from tasks_app.status import Status


def commune_units(province_id: int | None = None) -> QuerySet[Unit]:
    """The commune-level units (phường, xã, đặc khu) a task "for all communes" goes to: those of
    one province when given (a province's plan reaches its own communes only)."""
    units = Unit.objects.filter(kind__in=Unit.COMMUNE_LEVEL)
    return units if province_id is None else units.filter(parent_id=province_id)


def fan_out(
    task: Task,
    units: Iterable[Unit],
    *,
    role: str,
    deadline: dt.date | None = None,
    by: Any = None,
    issue: bool = False,
    responsible: Official | None = None,
) -> list[Assignment]:
    """Give one task to many units: one assignment per unit, in one transaction.

    The responsible official defaults to each unit's head; deadline and authority default to the
    task's. With issue=True every assignment must have its six clears or none is created.
    A constant number of queries whatever the number of units.
    """
    # A draft may leave the role open (it is one of the six clears); issued work may not.
    if role not in Assignment.Role.values and (issue or role):
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
                responsible_id=responsible.pk if responsible is not None else unit.head_id,
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


# --- giving a task (web form /tasks/new/ and POST /api/v1/tasks/) ----------------------------


def communes_of_province(by: Any) -> list[Unit]:
    """Every commune-level unit of the giver's province (all of them for a national actor without
    a province of their own, e.g. an administrator)."""
    scope = actor_scope(by)
    units = commune_units()
    if scope.province_id is not None:
        units = units.filter(parent_id=scope.province_id)
    elif not scope.sees_all:
        units = units.none()
    return list(units.order_by("code"))


def draft_assignments(
    task: Task,
    units: Iterable[Unit],
    *,
    role: str,
    deadline: dt.date | None,
    authority: Official | None,
    responsible: Official | None = None,
) -> list[Assignment]:
    """Unsaved assignments of a task as it would be given: what the six-clears check looks at."""
    return [
        Assignment(
            task=task,
            unit=unit,
            role=role or "",
            responsible_id=responsible.pk if responsible is not None else unit.head_id,
            deadline=deadline,
            authority_id=authority.pk if authority is not None else None,
            status=Status.DRAFT,
        )
        for unit in units
    ]


def clears_report(task: Task, units: list[Unit], **given: Any) -> list[dict[str, Any]]:
    """Each of the six clears, present or not, with the units it is missing for: the lifecycle's
    one rule (`missing_clears`) asked of every assignment the form would create."""
    drafts = draft_assignments(task, units, **given) if units else []
    if not drafts:  # no unit chosen yet: the unit's clears are missing, the task's are judged alone
        drafts = [Assignment(task=task, role=given.get("role") or "", deadline=given.get("deadline"))]
        drafts[0].authority_id = given["authority"].pk if given.get("authority") else None
    missing_for: dict[lifecycle.Clear, list[str]] = {}
    for draft in drafts:
        for clear in lifecycle.missing_clears(draft):
            missing_for.setdefault(clear, []).append(draft.unit.code if draft.unit_id else "")

    def units_named(clear: lifecycle.Clear) -> list[str]:
        # Named only when some units lack it and others do not (a unit without a head).
        codes = [code for code in missing_for.get(clear, []) if code]
        return sorted(codes) if len(codes) < len(drafts) else []

    return [
        {
            "clear": clear,
            "ok": clear not in missing_for,
            "units": units_named(clear),
            "message": clear.message,
        }
        for clear in lifecycle.Clear
    ]


def next_task_code(group: TaskGroup) -> tuple[str, int]:
    """The next number in the group and a code in the appendix's pattern (2026-01-07)."""
    from django.db.models import Max

    number = (group.tasks.aggregate(n=Max("number"))["n"] or 0) + 1
    code = f"{group.plan.year}-{group.number:02d}-{number:02d}"
    while Task.objects.filter(code=code).exists():
        number += 1
        code = f"{group.plan.year}-{group.number:02d}-{number:02d}"
    return code, number


def source_document_for(data: dict[str, Any] | None) -> SourceDocument | None:
    """The source document named by number and date: the stored one, or a new one."""
    if not data or not (data.get("number") or "").strip():
        return None
    if not data.get("date") or not (data.get("issuer") or "").strip():
        raise ValidationError(
            {"source_document": _t("Văn bản giao nhiệm vụ cần đủ số ký hiệu, ngày ban hành và cơ quan ban hành.")}
        )
    document, _created = SourceDocument.objects.get_or_create(
        number=data["number"].strip(),
        date=data["date"],
        defaults={"issuer": data["issuer"].strip(), "summary": (data.get("summary") or "").strip()},
    )
    return document


def give_task(
    *,
    by: Any,
    group: TaskGroup,
    title: str,
    description: str = "",
    deliverable: str = "",
    acceptance_criteria: str = "",
    deadline: dt.date | None = None,
    authority: Official | None = None,
    units: Iterable[Unit],
    role: str = "",
    responsible: Official | None = None,
    source_document: SourceDocument | dict | None = None,
    code: str = "",
    issue: bool = False,
) -> tuple[Task, list[Assignment]]:
    """Give a new task to one unit, several, or every commune: a draft, or issued at once.

    Who may give it is the lifecycle's issuer rule (its authority, the city office and leaders);
    issuing needs the six clears of every assignment, checked by the lifecycle's one rule, and
    the error names each missing clear (and the units it is missing for). All or nothing.
    """
    scope = actor_scope(by)
    # The province wall first: another province's plan or unit is not there for the giver (404).
    if not Plan.objects.visible_to(by).filter(pk=group.plan_id).exists():
        raise Http404(_t("Không tìm thấy nhóm nhiệm vụ."))
    units = list(units)
    if not all(gives_within(scope, unit) for unit in units):
        raise Http404(_t("Không tìm thấy đơn vị."))
    lifecycle.require_issuer(authority.pk if authority else None, scope)
    units = list(units)
    if not units:
        raise ValidationError({"units": _t("Hãy chọn ít nhất một đơn vị được giao.")})
    if responsible is not None and (len(units) != 1 or responsible.unit_id != units[0].pk):
        raise ValidationError(
            {"responsible": _t("Cán bộ chịu trách nhiệm phải thuộc đơn vị được giao (chỉ chọn khi giao một đơn vị).")}
        )
    with transaction.atomic():
        document = (
            source_document
            if isinstance(source_document, SourceDocument) or source_document is None
            else source_document_for(source_document)
        )
        auto_code, number = next_task_code(group)
        code = (code or "").strip() or auto_code
        if Task.objects.filter(code=code).exists():
            raise ValidationError({"code": _t("Mã nhiệm vụ %(code)s đã có.") % {"code": code}})
        task = Task(
            group=group,
            code=code,
            number=number,
            title=(title or "").strip(),
            description=(description or "").strip(),
            deliverable=(deliverable or "").strip(),
            acceptance_criteria=(acceptance_criteria or "").strip(),
            default_deadline=deadline,
            authority=authority,
            source_document=document,
        )
        if issue:
            report = clears_report(
                task, units, role=role, deadline=deadline, authority=authority, responsible=responsible
            )
            missing = [row for row in report if not row["ok"]]
            if missing:
                raise ValidationError(
                    {
                        "__all__": [
                            ValidationError(
                                row["message"] + (f" ({', '.join(row['units'])})" if row["units"] else ""),
                                code=f"missing_{row['clear'].key}",
                            )
                            for row in missing
                        ]
                    }
                )
        cast(Any, task)._history_user = scope.user
        task.save()
        assignments = fan_out(task, units, role=role, deadline=deadline, by=by, issue=issue, responsible=responsible)
    return task, assignments
