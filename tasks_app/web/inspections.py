"""Recording a field inspection from a phone (/assignments/<id>/inspections/new/).

The assignment is read through `visible_to` (another commune's work is a 404); who may inspect is
`scope.may_inspect` (403 otherwise: a unit never inspects itself); the record, its photos and the
remedy work are made by `tasks_app.inspections`.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from tasks_app import inspections
from tasks_app.lifecycle import local_tz
from tasks_app.models import Assignment, Inspection
from tasks_app.scope import actor_scope, may_inspect
from tasks_app.web.forms import InspectionForm


@login_required
def inspection_new(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = get_object_or_404(
        Assignment.objects.visible_to(request.user).select_related("task", "unit", "responsible", "authority"), pk=pk
    )
    if not may_inspect(actor_scope(request.user), assignment):
        raise PermissionDenied(_("Bạn không được kiểm tra phân công này; đơn vị không tự kiểm tra công việc của mình."))
    status = 200
    if request.method == "POST":
        form = InspectionForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                inspection = inspections.record_inspection(
                    assignment,
                    by=request.user,
                    date=data["date"],
                    findings=data["findings"],
                    conclusion=data["conclusion"],
                    remedy_deadline=data["remedy_deadline"],
                    uploads=data["photos"],
                )
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    for field, errors in exc.error_dict.items():
                        form.add_error(field if field in form.fields else None, errors)
                else:
                    form.add_error(None, exc.error_list)
            else:
                message = _("Đã ghi kết quả kiểm tra thực địa (%(n)s ảnh).") % {"n": inspection.photos.count()}
                if inspection.conclusion == Inspection.Conclusion.REMEDY:
                    message += " " + _("Đơn vị đã được giao phân công khắc phục.")
                messages.success(request, message)
                return redirect("web:assignment", pk=assignment.pk)
        status = 400
    else:
        form = InspectionForm(initial={"date": timezone.localdate(timezone=local_tz())})
    return render(request, "web/inspection_new.html", {"a": assignment, "form": form}, status=status)
