"""Field inspections (kiểm tra thực địa): who may record one, its photos, and the remedy work a
"yêu cầu khắc phục" conclusion gives the unit.

Who may inspect is `scope.may_inspect` (the city office and leaders, the assignment's authority,
inspectors; never the unit itself). Remedy is ordinary tracked work: a task in the same group and
an issued assignment for the unit, with the six clears checked by the lifecycle's one rule (the
model's save refuses issued work without them), so it has reminders, the unit's queue, the
deliverable workflow and KPI like any other assignment.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tasks_app import actions, lifecycle, photos
from tasks_app.lifecycle import local_tz
from tasks_app.models import Assignment, Inspection, InspectionPhoto, Task
from tasks_app.scope import actor_scope, may_inspect
from tasks_app.status import Status

REMEDY_CODE_SUFFIX = "-KP"


def _validate(assignment: Assignment, *, date, findings: str, conclusion: str, remedy_deadline) -> None:
    today = timezone.localdate(timezone=local_tz())
    errors: dict[str, str] = {}
    if not isinstance(date, dt.date):
        errors["date"] = _("Ngày kiểm tra phải là một ngày.")
    elif date > today:
        errors["date"] = _("Ngày kiểm tra không được sau hôm nay.")
    if not (findings or "").strip():
        errors["findings"] = _("Cần ghi kết quả kiểm tra.")
    if conclusion not in Inspection.Conclusion.values:
        errors["conclusion"] = _("Hãy chọn kết luận: đạt, chưa đạt hoặc yêu cầu khắc phục.")
    if conclusion == Inspection.Conclusion.REMEDY:
        if not isinstance(remedy_deadline, dt.date):
            errors["remedy_deadline"] = _("Yêu cầu khắc phục cần có thời hạn khắc phục.")
        elif remedy_deadline < today:
            errors["remedy_deadline"] = _("Thời hạn khắc phục không được trước hôm nay.")
    if errors:
        raise ValidationError(errors)


def _remedy(inspection: Inspection, scope) -> Assignment:
    """The unit's remedy work: a task and an issued assignment with its six clears."""
    inspected = inspection.assignment
    task = inspected.task
    _code, number = actions.next_task_code(task.group)
    base = f"{task.code[:22]}{REMEDY_CODE_SUFFIX}"
    n = Task.objects.filter(code__startswith=base).count() + 1
    remedy_task = Task(
        group=task.group,
        code=f"{base}{n}",
        number=number,
        title=(_("Khắc phục sau kiểm tra: %(title)s") % {"title": task.title})[:500],
        description=inspection.findings,
        deliverable=_("Báo cáo kết quả khắc phục kèm minh chứng"),
        acceptance_criteria=_("Khắc phục đầy đủ các tồn tại nêu tại kết luận kiểm tra ngày %(date)s.")
        % {"date": inspection.date.strftime("%d/%m/%Y")},
        default_deadline=inspection.remedy_deadline,
        authority_id=inspected.authority_id,
        source_document_id=task.source_document_id,
    )
    cast(Any, remedy_task)._history_user = scope.user
    remedy_task.save()
    remedy = Assignment(
        task=remedy_task,
        unit=inspected.unit,
        role=Assignment.Role.LEAD,
        responsible_id=inspected.responsible_id or inspected.unit.head_id,
        deadline=inspection.remedy_deadline,
        authority_id=inspected.authority_id,
        status=Status.DRAFT,
    )

    def create(rows: list[Assignment]) -> list[Assignment]:
        for row in rows:
            row._history_user = scope.user
            row._change_reason = "remedy"
            row.save()
        return rows

    # Issued as the system: the inspection's conclusion is the decision, whoever inspected (an
    # inspector gives no tasks of their own); the six clears are still the lifecycle's one rule.
    return lifecycle.issue_new([remedy], by=None, authority_id=inspected.authority_id, create=create)[0]


def record_inspection(
    assignment: Assignment,
    *,
    by,
    date,
    findings: str,
    conclusion: str,
    remedy_deadline=None,
    uploads=(),
) -> Inspection:
    """Record a field inspection with its photos; "remedy required" also issues the remedy work.

    Nothing is stored unless everything is valid: the permission, the fields, every photo.
    """
    scope = actor_scope(by)
    if not may_inspect(scope, assignment):
        raise PermissionDenied(
            _(
                "Chỉ Văn phòng UBND thành phố, lãnh đạo, người có thẩm quyền hoặc thanh tra mới được kiểm tra; "
                "đơn vị không tự kiểm tra công việc của mình."
            )
        )
    if assignment.status == Status.DRAFT:
        raise ValidationError(_("Phân công còn là dự thảo, chưa thể kiểm tra."), code="draft")
    _validate(assignment, date=date, findings=findings, conclusion=conclusion, remedy_deadline=remedy_deadline)
    try:
        checked = photos.process_all(uploads)
    except ValidationError as exc:
        raise ValidationError({"photos": exc.error_list}) from exc
    with transaction.atomic():
        inspection = Inspection(
            assignment=assignment,
            date=date,
            inspector=scope.official,
            findings=findings.strip(),
            conclusion=conclusion,
            remedy_deadline=remedy_deadline if conclusion == Inspection.Conclusion.REMEDY else None,
        )
        cast(Any, inspection)._history_user = scope.user
        inspection.save()
        for photo in checked:
            row = InspectionPhoto(
                inspection=inspection,
                original_name=photo.name[:255],
                taken_at=photo.taken_at,
                latitude=photo.latitude,
                longitude=photo.longitude,
                width=photo.width,
                height=photo.height,
            )
            row.file.save(photo.name, ContentFile(photo.content), save=False)
            row.save()
        if conclusion == Inspection.Conclusion.REMEDY:
            inspection.remedy = _remedy(inspection, scope)
            inspection.save(update_fields=["remedy"])
    return inspection
