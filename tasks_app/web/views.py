"""Server-rendered pages: my work, the assignment page and its actions, the task page, the leader
dashboard, evidence downloads and notifications.

Every page scopes through `Assignment.objects.visible_to(request.user)` (an assignment outside
the user's scope is a 404), every change goes through `tasks_app.lifecycle` (which decides who
may make it: a 403 otherwise), and every list is fetched with a fixed number of queries.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import connection, transaction
from django.db.models import Case, Count, IntegerField, Prefetch, Q, Value, When
from django.db.models.functions import TruncMonth
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tasks_app import evidence, lifecycle
from tasks_app.lifecycle import StaleVersion
from tasks_app.models import (
    Assignment,
    Evidence,
    ExtensionRequest,
    Inspection,
    InspectionPhoto,
    Plan,
    SourceDocument,
    Task,
    TaskGroup,
    Unit,
)
from tasks_app.scope import actor_scope, is_authority, is_unit_member, may_inspect, may_lead_city
from tasks_app.status import CANCELLABLE, OPEN, WORKING, Status, Timeliness
from tasks_app.web import charts, notifications
from tasks_app.web.forms import (
    AcceptForm,
    AssignmentFilterForm,
    CancelForm,
    DashboardFilterForm,
    DecideExtensionForm,
    ExtensionForm,
    ProgressForm,
    ReturnForm,
    SubmitForm,
)

PAGE_SIZE = 50
# The leader dashboard's unit table: 3,321 communes at national scale, shown a page at a time.
DASHBOARD_UNITS_PER_PAGE = 50
# How long the dashboard's aggregates may be served from the cache under an unchanged fingerprint.
DASHBOARD_CACHE_SECONDS = 300

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


def _today() -> dt.date:
    return timezone.localdate(timezone=lifecycle.local_tz())


def _groups():
    return list(TaskGroup.objects.order_by("plan__year", "plan_id", "number"))


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
    if data.get("q"):
        q = data["q"]
        queryset = queryset.filter(
            Q(task__code__icontains=q) | Q(task__title__icontains=q) | Q(unit__name__icontains=q) | Q(unit__code=q)
        )
    status = data.get("status")
    if status == "open":
        queryset = queryset.filter(status__in=OPEN)
    elif status:
        queryset = queryset.filter(status=status)
    if data.get("timeliness"):
        queryset = queryset.filter(timeliness=data["timeliness"])
    if data.get("group"):
        queryset = queryset.filter(task__group_id=data["group"])
    if data.get("role"):
        queryset = queryset.filter(role=data["role"])
    if data.get("due") == "week":
        queryset = queryset.filter(status__in=WORKING, deadline__gte=today, deadline__lte=today + dt.timedelta(7))
    if data.get("unit"):
        queryset = queryset.filter(unit__code=data["unit"])
    if data.get("month"):
        year, month = map(int, data["month"].split("-"))
        queryset = queryset.filter(deadline__year=year, deadline__month=month)
    return _source_filter(queryset, data)


def _source_filter(queryset, data):
    """Filter assignments by plan and by the document that gave their task."""
    if data.get("plan"):
        queryset = queryset.filter(task__group__plan_id=data["plan"])
    if data.get("source_document"):
        queryset = queryset.filter(task__source_document_id=data["source_document"])
    return queryset


def _plans_and_documents():
    # Few rows (a plan a year, a directive a week): two small queries per page, whatever the list's size.
    return list(Plan.objects.all()), list(SourceDocument.objects.all()[:500])


def _assignment_page(request, base, *, template, show_unit, extra=None):
    today = _today()
    base = base.with_timeliness(today).annotate(urgency=URGENCY)
    groups = _groups()
    plans, documents = _plans_and_documents()
    form = AssignmentFilterForm(
        request.GET or None, groups=groups, show_unit=show_unit, plans=plans, documents=documents
    )
    data = form.cleaned_data if form.is_valid() else getattr(form, "cleaned_data", {})
    rows = _apply_filters(base, data, today)
    page = Paginator(_list_rows(rows), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "counts": _counts(base, today),
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
    if scope.sees_all and scope.official_id:
        base = base.filter(
            Q(authority_id=scope.official_id) | Q(responsible_id=scope.official_id) | Q(unit_id=scope.unit_id)
        )
    return _assignment_page(
        request,
        base,
        template="web/home.html",
        show_unit=scope.sees_all or scope.official_id is not None and scope.unit_id is None,
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
        .with_timeliness(_today())
        .select_related("task__group__plan", "task__authority", "unit__head", "responsible", "authority")
    )
    return get_object_or_404(queryset, pk=pk)


def _history_rows(assignment):
    """Changes of the fields people care about, newest first, from django-simple-history."""
    tracked = {"status", "progress", "deadline", "role", "deliverable"}
    records = list(assignment.history.select_related("history_user").order_by("-history_date", "-history_id")[:40])
    rows = []
    for newer, older in zip(records, [*records[1:], None], strict=True):
        changes = []
        if older is not None:
            delta = newer.diff_against(older, included_fields=sorted(tracked))
            for change in delta.changes:
                field = Assignment._meta.get_field(change.field)
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
            forms["extension"] = bound.get("extension") or ExtensionForm(initial=initial, prefix="extension")
    if is_unit and assignment.status == Status.IN_PROGRESS:
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

    context = {
        "a": assignment,
        "task": assignment.task,
        "timeline": timeline,
        "history": _history_rows(assignment),
        "pending": pending,
        "forms": forms,
        "is_unit": is_unit,
        "is_authority": is_authority,
        "today": _today(),
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
    # request_extension takes no version: the check here still refuses a form made before a change.
    if assignment.version != data["version"]:
        raise StaleVersion(assignment.version)
    assignment.request_extension(by=request.user, requested_deadline=data["requested_deadline"], reason=data["reason"])
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
            form.data = form.data.copy()
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


def _attachment(file_field, filename, content_type):
    """A stored upload, always as a download: never rendered by the browser as a page."""
    response = FileResponse(file_field.open("rb"), as_attachment=True, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@login_required
def evidence_file(request, pk):
    visible = Assignment.objects.visible_to(request.user).values("pk")
    item = get_object_or_404(Evidence.objects.filter(report__assignment__in=visible).exclude(file=""), pk=pk)
    name = item.original_name or item.file.name.rsplit("/", 1)[-1]
    return _attachment(item.file, name, item.content_type or "application/octet-stream")


@login_required
def inspection_photo(request, pk):
    visible = Assignment.objects.visible_to(request.user).values("pk")
    photo = get_object_or_404(InspectionPhoto.objects.filter(inspection__assignment__in=visible), pk=pk)
    # Still a download like every upload (an <img> shows it all the same); the copies made by
    # tasks_app.photos are JPEGs encoded here from the pixels alone.
    name = (photo.original_name or photo.file.name).rsplit("/", 1)[-1]
    return _attachment(photo.file, name, "image/jpeg")


# --- one task across units -------------------------------------------------------------------


@login_required
def task_detail(request, code):
    scope = actor_scope(request.user)
    task = get_object_or_404(Task.objects.select_related("group__plan", "authority"), code=code)
    today = _today()
    assignments = list(
        Assignment.objects.visible_to(request.user)
        .filter(task=task)
        .exclude(status=Status.DRAFT)
        .with_timeliness(today)
        .select_related("unit__head", "responsible")
        .order_by("unit__kind", "unit__code")
    )
    if not assignments and not scope.sees_all:
        raise Http404  # a task none of whose work the user may see is not theirs to browse
    tally = defaultdict(int)
    for a in assignments:
        tally[a.timeliness] += 1
    classes = [{"value": t.value, "label": t.label, "n": tally[t.value]} for t in Timeliness]
    return render(
        request,
        "web/task_detail.html",
        {"task": task, "assignments": assignments, "classes": classes, "today": today, "scope": scope},
    )


# --- leader dashboard ------------------------------------------------------------------------


def _require_city_wide(request):
    if not may_lead_city(actor_scope(request.user)):
        raise PermissionDenied(_("Chỉ lãnh đạo thành phố và Văn phòng UBND thành phố xem bảng điều hành."))


def _list_url(**params):
    return reverse("web:assignments") + "?" + urlencode({k: v for k, v in params.items() if v not in (None, "")})


def _dashboard_fingerprint() -> str:
    """A stamp that every change of the dashboard's figures moves: four index lookups, milliseconds at 1M.

    - a new assignment (one by one, fan-out, the importer): the largest id;
    - an assignment saved (every lifecycle transition and the admin save the row, so `auto_now`
      moves `updated_at`): the newest `updated_at`;
    - any save or deletion through the model, and the bulk paths that write history
      (`bulk_create_with_history` in fan-out and the importer): the newest assignment history row;
    - a task moved to another group: the newest task history row;
    - a field inspection recorded or changed: the newest inspection history row.
    No `QuerySet.update()` in the code base changes a counted field of a row without one of these
    moving in the same transaction (the sample plan's backdating runs in the transaction that saved
    those rows). The stamp lives in the database, so every process and every cache backend agrees.
    """
    a, ha, ht, hi = (
        m._meta.db_table for m in (Assignment, Assignment.history.model, Task.history.model, Inspection.history.model)
    )
    with connection.cursor() as cursor:
        # Table names from the models' metadata; nothing from the request.
        cursor.execute(
            f"SELECT (SELECT max(id) FROM {a}), (SELECT max(updated_at) FROM {a}), "  # noqa: S608
            f"(SELECT max(history_id) FROM {ha}), (SELECT max(history_id) FROM {ht}), "
            f"(SELECT max(history_id) FROM {hi})"
        )
        stamp = cursor.fetchone()
    return hashlib.blake2b(repr(stamp).encode(), digest_size=12).hexdigest()


def dashboard_cache_key(today: dt.date, group_id: int | None, filters: str = "") -> str:
    return f"dashboard:v1:{today.isoformat()}:{group_id or 'all'}:{filters}:{_dashboard_fingerprint()}"


def _dashboard_figures(tracked, today, group_id, filters: dict | None = None) -> dict:
    """The four aggregates (by unit, by group, by month, inspections this month by unit), cached per
    (local date, group, plan and source-document filters, fingerprint).

    The fingerprint is read first, so figures computed after a write never hide under a stamp that
    write moved. What it cannot see, a transaction that took its ids and timestamps before another
    one yet commits after it, is bounded by the timeout.
    """
    key = dashboard_cache_key(today, group_id, urlencode(sorted((filters or {}).items())))

    def compute():
        per_unit = {
            row["unit_id"]: row
            for row in tracked.values("unit_id").annotate(
                assigned=Count("pk"),
                on_time=Count("pk", filter=Q(timeliness=Timeliness.COMPLETED_ON_TIME)),
                late=Count("pk", filter=Q(timeliness=Timeliness.COMPLETED_LATE)),
                overdue=Count("pk", filter=Q(timeliness=Timeliness.OVERDUE)),
                open=Count("pk", filter=Q(status__in=OPEN)),
            )
        }
        by_group = defaultdict(dict)
        for row in tracked.values("task__group_id", "timeliness").annotate(n=Count("pk")):
            by_group[row["task__group_id"]][row["timeliness"]] = row["n"]
        by_month = defaultdict(dict)
        for row in tracked.annotate(month=TruncMonth("deadline")).values("month", "timeliness").annotate(n=Count("pk")):
            by_month[row["month"]][row["timeliness"]] = row["n"]
        return {
            "per_unit": per_unit,
            "by_group": dict(by_group),
            "by_month": dict(by_month),
            "inspections": _inspections_this_month(today, group_id, filters or {}),
        }

    return cache.get_or_set(key, compute, DASHBOARD_CACHE_SECONDS)


def _unit_page(request, data, per_unit, group_id, sort, filters=None):
    """One page of the unit table: every matching unit sorted by its figures, 50 rendered with links."""
    units = Unit.objects.exclude(kind=Unit.Kind.CITY)
    if data.get("kind") == "commune":
        units = units.filter(kind__in=Unit.COMMUNE_LEVEL)
    elif data.get("kind"):
        units = units.filter(kind=data["kind"])
    if data.get("parent"):
        units = units.filter(parent_id=data["parent"])
    if data.get("q"):
        units = units.filter(Q(name__icontains=data["q"]) | Q(code=data["q"]))
    empty = {"assigned": 0, "on_time": 0, "late": 0, "overdue": 0, "open": 0}
    # Sorting needs every matching unit's figures, but only the page's rows become objects and links.
    rows = []
    for pk, code, name in units.values_list("pk", "code", "name"):
        row = {"pk": pk, "code": code, "name": name, **per_unit.get(pk, empty)}
        row["rate"] = round(100 * row["on_time"] / row["assigned"]) if row["assigned"] else None
        rows.append(row)
    if sort in ("name", "code"):
        rows.sort(key=lambda r: r[sort])
    elif sort == "rate":
        rows.sort(key=lambda r: (r["rate"] is None, r["rate"] if r["rate"] is not None else 0, r["code"]))
    else:
        rows.sort(key=lambda r: (-r[sort], r["code"]))
    page = Paginator(rows, DASHBOARD_UNITS_PER_PAGE).get_page(request.GET.get("page"))
    objects = Unit.objects.select_related("head", "parent").in_bulk([r["pk"] for r in page.object_list])
    for row in page.object_list:
        row["unit"] = objects[row["pk"]]
        link = {"unit": row["code"], "group": group_id, **(filters or {})}
        row["links"] = {
            "assigned": _list_url(**link),
            "on_time": _list_url(**link, timeliness=Timeliness.COMPLETED_ON_TIME.value),
            "late": _list_url(**link, timeliness=Timeliness.COMPLETED_LATE.value),
            "overdue": _list_url(**link, timeliness=Timeliness.OVERDUE.value),
            "open": _list_url(**link, status="open"),
        }
    return page


@login_required
def dashboard(request):
    """The plan as a whole: by group, by unit (a page at a time), by month; cached aggregates, fixed query count."""
    _require_city_wide(request)
    today = _today()
    groups = _groups()
    provinces = list(Unit.objects.filter(kind=Unit.Kind.CITY).order_by("name"))
    plans, documents = _plans_and_documents()
    form = DashboardFilterForm(
        request.GET or None, groups=groups, provinces=provinces, plans=plans, documents=documents
    )
    data = form.cleaned_data if form.is_valid() else getattr(form, "cleaned_data", {})
    group_id = data.get("group")
    # Plan and source document: carried into every number's link, so the list adds up to it.
    filters = {name: data[name] for name in ("plan", "source_document") if data.get(name)}

    tracked = _source_filter(Assignment.objects.tracked(today, original_deadline=False).order_by(), filters)
    if group_id:
        tracked = tracked.filter(task__group_id=group_id)

    # 1. The four GROUP BYs (by unit, by group, by month, inspections this month), from the cache
    # while nothing changed.
    figures = _dashboard_figures(tracked, today, group_id, filters)
    sort = data.get("sort") or "overdue"
    unit_page = _unit_page(request, data, figures["per_unit"], group_id, sort, filters)

    # 2. By group and by month: the totals and charts cover every unit, whatever the table shows.
    by_group, by_month = figures["by_group"], figures["by_month"]
    group_rows = [
        {"group": g, "counts": by_group[g.pk], "total": sum(by_group[g.pk].values())}
        for g in groups
        if g.pk in by_group
    ]
    month_rows = [
        {"month": m, "key": m.strftime("%Y-%m"), "counts": by_month[m], "total": sum(by_month[m].values())}
        for m in sorted(by_month)
    ]
    totals = defaultdict(int)
    for g in by_group.values():
        for cls, n in g.items():
            totals[cls] += n
    total = sum(totals.values())
    classes = [
        {
            "value": t.value,
            "label": t.label,
            "n": totals[t.value],
            "pct": round(100 * totals[t.value] / total) if total else 0,
            "url": _list_url(timeliness=t.value, group=group_id, **filters),
        }
        for t in Timeliness
    ]

    # 3. The most overdue open work, with the unit head who answers for it.
    most_overdue = list(
        tracked.filter(status__in=WORKING, deadline__lt=today)
        .select_related("task", "unit__head", "responsible")
        .order_by("deadline", "pk")[:15]
    )
    for a in most_overdue:
        a.days_overdue = (today - a.deadline).days

    # 4. Field inspections this month, by unit (the fourth cached GROUP BY).
    inspections = figures["inspections"]

    context = {
        "form": form,
        "today": today,
        "total": total,
        "classes": classes,
        "unit_rows": unit_page.object_list,
        "unit_page": unit_page,
        "group_rows": group_rows,
        "month_rows": month_rows,
        "most_overdue": most_overdue,
        "inspections": inspections,
        "group_chart": charts.horizontal_stacked(
            [(str(r["group"]), r["counts"]) for r in group_rows],
            title=_("Phân loại tiến độ theo nhóm nhiệm vụ"),
            chart_id="chart-groups",
        ),
        "month_chart": charts.vertical_stacked(
            [(r["month"].strftime("%m/%Y"), r["counts"]) for r in month_rows],
            title=_("Phân loại tiến độ theo tháng đến hạn"),
            chart_id="chart-months",
        ),
        "sort": sort,
        "group_id": group_id,
    }
    return render(request, "web/dashboard.html", context)


def _inspections_this_month(today: dt.date, group_id, filters: dict) -> dict:
    """How many field inspections this month, by unit, with how many required remedy."""
    rows = Inspection.objects.filter(date__gte=today.replace(day=1), date__lte=today)
    if group_id:
        rows = rows.filter(assignment__task__group_id=group_id)
    if filters.get("plan"):
        rows = rows.filter(assignment__task__group__plan_id=filters["plan"])
    if filters.get("source_document"):
        rows = rows.filter(assignment__task__source_document_id=filters["source_document"])
    by_unit = list(
        rows.values("assignment__unit__code", "assignment__unit__name")
        .annotate(n=Count("pk"), remedy=Count("pk", filter=Q(conclusion=Inspection.Conclusion.REMEDY)))
        .order_by("-n", "assignment__unit__code")
    )
    return {"total": sum(r["n"] for r in by_unit), "by_unit": by_unit}


# --- notifications ---------------------------------------------------------------------------


@login_required
def notifications_page(request):
    return render(request, "web/notifications.html", notifications.context_for(request))
