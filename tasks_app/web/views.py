"""Server-rendered pages: my work, the assignment page and its actions, the task page, evidence
downloads and notifications (the leader dashboard is `web/dashboard.py`).

Every page scopes through `Assignment.objects.visible_to(request.user)` (an assignment outside
the user's scope is a 404), every change goes through `tasks_app.lifecycle` (which decides who
may make it: a 403 otherwise), and every list is fetched with a fixed number of queries.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import models, transaction
from django.db.models import Case, Count, IntegerField, Prefetch, Q, Value, When
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tasks_app import evidence, lifecycle
from tasks_app.api.filters import AssignmentFilter
from tasks_app.lifecycle import StaleVersion
from tasks_app.models import (
    Assignment,
    Evidence,
    ExtensionRequest,
    InspectionPhoto,
    Plan,
    ProgressReport,
    SourceDocument,
    Task,
    TaskGroup,
)
from tasks_app.scope import actor_scope, is_authority, is_unit_member, may_inspect
from tasks_app.status import CANCELLABLE, OPEN, WORKING, Status, Timeliness
from tasks_app.web import notifications
from tasks_app.web.forms import (
    AcceptForm,
    AssignmentFilterForm,
    CancelForm,
    DecideExtensionForm,
    ExtensionForm,
    ProgressForm,
    ReturnForm,
    SubmitForm,
    TaskUnitsFilterForm,
)

PAGE_SIZE = 20
# The task page's units, a page at a time: 115 stacked rows are 25,000 px on a phone.
TASK_UNITS_PER_PAGE = 20

# Most urgent first: overdue, then open work by deadline, then awaiting acceptance, then done.
URGENCY = Case(
    When(status__in=WORKING, timeliness=Timeliness.OVERDUE, then=Value(0)),
    When(status=Status.RETURNED, then=Value(1)),
    When(status__in=WORKING, then=Value(2)),
    When(status=Status.SUBMITTED, then=Value(3)),
    When(status=Status.ACCEPTED, then=Value(4)),
    default=Value(5),
    output_field=IntegerField(),
)


def task_groups(actor=None, province_id: int | None = None):
    """The task groups of the plans the actor sees (of one province when given)."""
    groups = TaskGroup.objects.order_by("plan__year", "plan_id", "number")
    if actor is not None:
        groups = groups.filter(plan__in=Plan.objects.visible_to(actor))
    if province_id is not None:
        groups = groups.filter(Q(plan__province_id=province_id) | Q(plan__province__isnull=True))
    return list(groups)


def _list_rows(queryset):
    return queryset.select_related("task", "unit", "responsible").order_by("urgency", "deadline", "pk")


def _counts(base, today):
    return base.aggregate(
        overdue=Count("pk", filter=Q(timeliness=Timeliness.OVERDUE)),
        due_week=Count("pk", filter=Q(status__in=WORKING, deadline__gte=today, deadline__lte=today + dt.timedelta(7))),
        awaiting=Count("pk", filter=Q(status=Status.SUBMITTED)),
        open=Count("pk", filter=Q(status__in=OPEN)),
        done=Count("pk", filter=Q(status=Status.ACCEPTED)),
    )


def _apply_filters(queryset, data, today):
    # The API's filters, one definition: search (without diacritics), role, class, group and unit.
    shared = {
        "search": data.get("q"),
        "role": data.get("role"),
        "timeliness": data.get("timeliness"),
        "group": data.get("group"),
        "unit": data.get("unit"),
    }
    queryset = AssignmentFilter({k: v for k, v in shared.items() if v}, queryset=queryset).qs
    status = data.get("status")
    if status == "open":
        queryset = queryset.filter(status__in=OPEN)
    elif status:
        queryset = queryset.filter(status=status)
    if data.get("due") == "week":
        queryset = queryset.filter(status__in=WORKING, deadline__gte=today, deadline__lte=today + dt.timedelta(7))
    if data.get("month"):
        year, month = map(int, data["month"].split("-"))
        queryset = queryset.filter(deadline__year=year, deadline__month=month)
    return source_filter(queryset, data)


def source_filter(queryset, data):
    """Filter assignments by plan and by the document that gave their task."""
    if data.get("plan"):
        queryset = queryset.filter(task__group__plan_id=data["plan"])
    if data.get("source_document"):
        queryset = queryset.filter(task__source_document_id=data["source_document"])
    return queryset


def plans_and_documents(actor, province_id: int | None = None):
    """The plans and source documents the actor sees (of one province when given): few rows (a
    plan a year, a directive a week), two small queries per page, whatever the list's size."""
    plans = Plan.objects.visible_to(actor)
    documents = SourceDocument.objects.visible_to(actor)
    if province_id is not None:
        plans = plans.filter(Q(province_id=province_id) | Q(province__isnull=True))
        documents = documents.filter(
            tasks__group__plan__in=Plan.objects.filter(Q(province_id=province_id) | Q(province__isnull=True))
        ).distinct()
    return list(plans), list(documents[:500])


def _assignment_page(request, base, *, template, show_unit, extra=None):
    today = lifecycle.local_today()
    base = base.with_timeliness(today).annotate(urgency=URGENCY)
    groups = task_groups(request.user)
    plans, documents = plans_and_documents(request.user)
    form = AssignmentFilterForm(
        request.GET or None, groups=groups, show_unit=show_unit, plans=plans, documents=documents
    )
    data = form.cleaned_data if form.is_valid() else getattr(form, "cleaned_data", {})
    rows = _apply_filters(base, data, today)
    page = Paginator(_list_rows(rows), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        # The counters describe the rows listed: the same filters, one aggregate query.
        "counts": _counts(rows, today),
        "today": today,
        "show_unit": show_unit,
        "filtered": any(data.get(name) for name in form.fields),
        **(extra or {}),
    }
    if request.htmx and request.htmx.target == "results":
        # The filter form's in-place refresh needs only the list: less to send on a slow link.
        template = "web/_results.html"
    return render(request, template, context)


@login_required
def home(request):
    """My work: the user's unit's assignments (a city leader's: those they answer for or decide)."""
    scope = actor_scope(request.user)
    base = Assignment.objects.visible_to(request.user).exclude(status=Status.DRAFT)
    if scope.wide and scope.official_id:
        base = base.filter(
            Q(authority_id=scope.official_id) | Q(responsible_id=scope.official_id) | Q(unit_id=scope.unit_id)
        )
    return _assignment_page(
        request,
        base,
        template="web/home.html",
        show_unit=scope.wide or scope.official_id is not None and scope.unit_id is None,
        extra={"scope": scope, "official": scope.official},
    )


@login_required
def assignment_list(request):
    """Every assignment the user may see, filtered; where the dashboard's numbers lead."""
    scope = actor_scope(request.user)
    base = Assignment.objects.visible_to(request.user)
    if request.GET.get("status") != Status.DRAFT:
        base = base.exclude(status=Status.DRAFT)
    return _assignment_page(request, base, template="web/assignment_list.html", show_unit=True, extra={"scope": scope})


# --- one assignment --------------------------------------------------------------------------


def _get_assignment(request, pk):
    queryset = (
        Assignment.objects.visible_to(request.user)
        .with_timeliness(lifecycle.local_today())
        .select_related("task__group__plan", "task__authority", "unit__head", "responsible", "authority")
    )
    return get_object_or_404(queryset, pk=pk)


def _history_rows(assignment):
    """Changes of the fields people care about, newest first, from django-simple-history."""
    tracked = {"status", "progress", "deadline", "role", "deliverable"}
    records = list(assignment.history.select_related("history_user").order_by("-history_date", "-history_id")[:40])
    rows = []
    # An assignment created in bulk (an import, a fan-out) may have no history yet: no rows, no 500.
    older_ones = [*records[1:], None] if records else []
    for newer, older in zip(records, older_ones, strict=True):
        changes = []
        if older is not None:
            delta = newer.diff_against(older, included_fields=sorted(tracked))
            for change in delta.changes:
                field = cast(models.Field, Assignment._meta.get_field(change.field))
                old, new = change.old, change.new
                if field.choices:
                    labels = dict(field.flatchoices)
                    old, new = labels.get(old, old), labels.get(new, new)
                changes.append({"field": field.verbose_name, "old": old, "new": new})
        if older is None or changes:
            rows.append(
                {
                    "when": newer.history_date,
                    "who": newer.history_user,
                    "type": newer.history_type,
                    "reason": newer.history_change_reason,
                    "changes": changes,
                }
            )
    return rows


def _permissions(request, assignment):
    actor = actor_scope(request.user)
    return is_unit_member(actor, assignment), is_authority(actor, assignment)


def _render_detail(request, assignment, bound=None, status=200):
    bound = bound or {}
    is_unit, is_authority = _permissions(request, assignment)
    extensions = list(assignment.extension_requests.select_related("requested_by", "decided_by"))
    pending = next((e for e in extensions if e.status == ExtensionRequest.Status.PENDING), None)
    reports = list(
        assignment.reports.select_related("author").prefetch_related(
            Prefetch("evidence", queryset=Evidence.objects.order_by("pk"))
        )
    )
    inspections = list(assignment.inspections.select_related("inspector").prefetch_related("photos"))
    initial = {"version": assignment.version}
    forms = {}
    if is_unit and assignment.status in WORKING:
        forms["progress"] = bound.get("progress") or ProgressForm(
            initial={**initial, "percent": assignment.progress}, prefix="progress"
        )
        if pending is None:
            forms["extension"] = bound.get("extension") or ExtensionForm(
                initial=initial,
                prefix="extension",
                limit=lifecycle.extension_limit(assignment),
                current=assignment.deadline,
            )
    if is_unit and assignment.status in (Status.IN_PROGRESS, Status.RETURNED):
        forms["submit"] = bound.get("submit") or SubmitForm(initial=initial, prefix="submit")
    if is_authority and assignment.status == Status.SUBMITTED:
        forms["accept"] = bound.get("accept") or AcceptForm(initial=initial, prefix="accept")
        forms["return"] = bound.get("return") or ReturnForm(initial=initial, prefix="return")
    if is_authority and pending is not None:
        forms["decide"] = bound.get("decide") or DecideExtensionForm(prefix="decide")
    if is_authority and assignment.status in CANCELLABLE:
        forms["cancel"] = bound.get("cancel") or CancelForm(initial=initial, prefix="cancel")

    # A posted form whose action is no longer open (the state changed) still shows its errors.
    for name, form in bound.items():
        if name not in forms and (name != "decide" or pending is not None):
            forms[name] = form
        elif name not in forms:
            messages.error(request, " ".join(form.non_field_errors()))

    timeline = [{"when": r.created_at, "kind": "report", "item": r} for r in reports]
    for e in extensions:
        timeline.append({"when": e.requested_at, "kind": "extension", "item": e})
        if e.decided_at:
            timeline.append({"when": e.decided_at, "kind": "extension_decision", "item": e})
    for i in inspections:
        timeline.append({"when": i.created_at, "kind": "inspection", "item": i})
    timeline.sort(key=lambda entry: entry["when"], reverse=True)

    returned = None
    if assignment.status == Status.RETURNED:
        returned = next((r for r in reversed(reports) if r.kind == ProgressReport.Kind.RETURN), None)
    context = {
        "a": assignment,
        "task": assignment.task,
        "returned": returned,
        "next_step": lifecycle.next_step(assignment, pending_extension=pending is not None),
        "timeline": timeline,
        "history": _history_rows(assignment),
        "pending": pending,
        "forms": forms,
        "is_unit": is_unit,
        "is_authority": is_authority,
        "today": lifecycle.local_today(),
        "missing_clears": assignment.missing_clears() if assignment.status == Status.DRAFT else [],
        "may_inspect": assignment.status != Status.DRAFT and may_inspect(actor_scope(request.user), assignment),
    }
    return render(request, "web/assignment_detail.html", context, status=status)


@login_required
def assignment_detail(request, pk):
    return _render_detail(request, _get_assignment(request, pk))


def _progress(request, assignment, data):
    report = assignment.report_progress(
        by=request.user,
        percent=data["percent"],
        note=data["note"],
        links=data["links"],
        expected_version=data["version"],
    )
    evidence.attach_files(report, data["files"])
    return _("Đã ghi báo cáo tiến độ %(percent)s%%.") % {"percent": data["percent"]}


def _submit(request, assignment, data):
    report = assignment.submit(
        by=request.user, note=data["note"], links=data["links"], expected_version=data["version"]
    )
    evidence.attach_files(report, data["files"])
    return _("Đã nộp sản phẩm; chờ người có thẩm quyền nghiệm thu.")


def _extension(request, assignment, data):
    assignment.request_extension(
        by=request.user,
        requested_deadline=data["requested_deadline"],
        reason=data["reason"],
        expected_version=data["version"],
    )
    return _("Đã gửi đề nghị gia hạn đến người có thẩm quyền.")


def _accept(request, assignment, data):
    assignment.accept(by=request.user, note=data["note"], expected_version=data["version"])
    return _("Đã nghiệm thu sản phẩm.")


def _return(request, assignment, data):
    assignment.return_(by=request.user, reason=data["reason"], expected_version=data["version"])
    return _("Đã trả lại sản phẩm kèm lý do.")


def _cancel(request, assignment, data):
    assignment.cancel(by=request.user, reason=data["reason"], expected_version=data["version"])
    return _("Đã hủy phân công.")


ACTIONS = {
    "progress": (ProgressForm, _progress),
    "submit": (SubmitForm, _submit),
    "extension": (ExtensionForm, _extension),
    "accept": (AcceptForm, _accept),
    "return": (ReturnForm, _return),
    "cancel": (CancelForm, _cancel),
}


def _add_validation_error(form, exc: ValidationError):
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.error_list)


@require_POST
@login_required
def assignment_action(request, pk, action):
    if action not in ACTIONS:
        raise Http404
    assignment = _get_assignment(request, pk)
    form_class, perform = ACTIONS[action]
    form = form_class(request.POST, request.FILES, prefix=action)
    status = 400
    if form.is_valid():
        try:
            with transaction.atomic():
                message = perform(request, assignment, form.cleaned_data)
        except StaleVersion as exc:
            # Keep what the user typed, pointed at the current version, and show what changed.
            form.data = cast(QueryDict, form.data).copy()
            form.data[form.add_prefix("version")] = str(exc.current_version)
            form.add_error(
                None,
                _(
                    "Phân công vừa được người khác cập nhật nên thao tác chưa được thực hiện. "
                    "Nội dung bạn nhập vẫn còn dưới đây (tệp đính kèm cần chọn lại): hãy xem lại rồi gửi lại."
                ),
            )
            status = 409
            assignment = _get_assignment(request, pk)
        except ValidationError as exc:
            _add_validation_error(form, exc)
        else:
            messages.success(request, message)
            return redirect("web:assignment", pk=assignment.pk)
    return _render_detail(request, assignment, bound={action: form}, status=status)


@require_POST
@login_required
def decide_extension(request, pk, request_pk):
    assignment = _get_assignment(request, pk)
    extension = get_object_or_404(ExtensionRequest.objects.filter(assignment=assignment), pk=request_pk)
    form = DecideExtensionForm(request.POST, prefix="decide")
    if form.is_valid():
        approve = form.cleaned_data["decision"] == "approve"
        try:
            extension.decide(by=request.user, approve=approve, note=form.cleaned_data["note"])
        except ValidationError as exc:
            _add_validation_error(form, exc)
        else:
            if approve:
                messages.success(
                    request,
                    _("Đã chấp thuận gia hạn đến %(date)s.")
                    % {"date": extension.requested_deadline.strftime("%d/%m/%Y")},
                )
            else:
                messages.success(request, _("Đã không chấp thuận đề nghị gia hạn."))
            return redirect("web:assignment", pk=assignment.pk)
    return _render_detail(request, assignment, bound={"decide": form}, status=400)


@login_required
def evidence_file(request, pk):
    visible = Assignment.objects.visible_to(request.user).values("pk")
    item = get_object_or_404(Evidence.objects.filter(report__assignment__in=visible).exclude(file=""), pk=pk)
    return evidence.evidence_response(item)


@login_required
def inspection_photo(request, pk):
    visible = Assignment.objects.visible_to(request.user).values("pk")
    photo = get_object_or_404(InspectionPhoto.objects.filter(inspection__assignment__in=visible), pk=pk)
    # The copies made by tasks_app.photos are JPEGs encoded here from the pixels alone; still a
    # download like every upload (an <img> shows it all the same).
    name = (photo.original_name or photo.file.name).rsplit("/", 1)[-1]
    return evidence.file_response(photo.file, name, "image/jpeg")


# --- one task across units -------------------------------------------------------------------


@login_required
def task_detail(request, code):
    """One task across its units, most urgent first; the legend's counts link to their filter."""
    scope = actor_scope(request.user)
    task = get_object_or_404(Task.objects.select_related("group__plan", "authority", "source_document"), code=code)
    today = lifecycle.local_today()
    assignments = list(
        Assignment.objects.visible_to(request.user)
        .filter(task=task)
        .exclude(status=Status.DRAFT)
        .with_timeliness(today)
        .annotate(urgency=URGENCY)
        .select_related("unit__head", "responsible")
        .order_by("urgency", "deadline", "unit__code")
    )
    if not assignments and not scope.sees_province(task.group.plan.province_id):
        raise Http404  # a task none of whose work the user may see is not theirs to browse
    tally: defaultdict[str | None, int] = defaultdict(int)
    for a in assignments:
        tally[a.timeliness] += 1
    form = TaskUnitsFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    shown = assignments
    if data.get("timeliness"):
        shown = [a for a in shown if a.timeliness == data["timeliness"]]
    if data.get("role"):
        shown = [a for a in shown if a.role == data["role"]]
    if data.get("q"):
        needle = data["q"].casefold()
        shown = [a for a in shown if needle in a.unit.name.casefold() or needle == a.unit.code.casefold()]
    classes = [
        {"value": t.value, "label": t.label, "n": tally[t.value], "active": data.get("timeliness") == t.value}
        for t in Timeliness
    ]
    page = Paginator(shown, TASK_UNITS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "web/task_detail.html",
        {
            "task": task,
            "page": page,
            "assignments": page.object_list,
            "matching": len(shown),
            "total": len(assignments),
            "classes": classes,
            "form": form,
            "filtered": any(data.values()),
            "today": today,
            "scope": scope,
        },
    )


# --- notifications ---------------------------------------------------------------------------


@login_required
def notifications_page(request):
    return render(request, "web/notifications.html", notifications.context_for(request))
