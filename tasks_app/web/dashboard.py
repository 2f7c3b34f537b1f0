"""The leader dashboard: the plan as a whole by group, by unit (a page at a time) and by month,
for one province (a provincial leader's or office's own; the one a national actor picks), and the
national view: the provinces side by side.

Its four aggregates (by unit, by group, by month, and this month's field inspections by unit) are
cached per local date, group, plan and source-document filter under the figures version
(`tasks_app.figures`), which every write of counted work moves: a change shows on the next load,
and an unchanged plan costs no GROUP BY at all.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import cast

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from tasks_app import counts, figures, lifecycle, search
from tasks_app.models import Assignment, Inspection, Unit
from tasks_app.replica import reads_from_replica
from tasks_app.scope import ActorScope, actor_scope, in_province, may_view_nation
from tasks_app.status import WORKING, Timeliness
from tasks_app.web import charts, views
from tasks_app.web.forms import DashboardFilterForm

# The unit table: 3,321 communes at national scale, shown a page at a time; ten rows keep the
# dashboard within about 6,000 px on a phone (tests/test_web_phone_browser.py).
UNITS_PER_PAGE = 10
MOST_OVERDUE = 5
# How long the aggregates may be served from the cache: a bound on what the version cannot see
# (a write that bypassed every write path, e.g. SQL typed in a database console).
CACHE_SECONDS = 300


def _require_wide(request) -> ActorScope:
    """Provincial leaders and offices (their province) and national actors (any province, read-only)."""
    scope = actor_scope(request.user)
    if not scope.wide:
        raise PermissionDenied(_("Chỉ lãnh đạo thành phố và Văn phòng UBND thành phố xem bảng điều hành."))
    return scope


# Units shown as rows of the unit table: not the provinces themselves, not the nation.
NOT_ROWS = (*Unit.PROVINCE_LEVEL, Unit.Kind.NATION)


def _list_url(**params):
    return reverse("web:assignments") + "?" + urlencode({k: v for k, v in params.items() if v not in (None, "")})


def dashboard_cache_key(
    today: dt.date, group_id: int | None, province_id: int | None = None, filters: str = "", basis: str = "current"
) -> str:
    """The cache key of one day's figures for one province, group, plan and source-document
    filter and deadline basis, under the current figures version."""
    return (
        f"dashboard:v5:{today.isoformat()}:{province_id or 'all'}:{group_id or 'all'}:{filters}:{basis}"
        f":{figures.current()}"
    )


def _inspections_this_month(today: dt.date, group_id, province_id, filters: dict) -> dict:
    """How many field inspections this month, by unit of the province, with how many required remedy."""
    rows = Inspection.objects.filter(date__gte=today.replace(day=1), date__lte=today)
    if province_id is not None:
        rows = rows.filter(in_province(province_id, "assignment__province_id"))
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


def _dashboard_figures(
    tracked, today, group_id, province_id=None, filters: dict | None = None, basis: str = "current"
) -> dict:
    """The four aggregates (by unit, by group, by month, inspections this month), cached per
    (local date, province, group, plan and source-document filters, deadline basis, figures version).

    The version is read first and every write moves it in its own transaction, so figures computed
    after a write never hide under a version that write moved (see `tasks_app.figures`).
    """
    key = dashboard_cache_key(today, group_id, province_id, urlencode(sorted((filters or {}).items())), basis)

    def compute():
        if counts.maintained() and not (filters or {}).get("source_document"):
            # The maintained counts: thousands of rows instead of the whole table (tasks_app.counts).
            figures_ = counts.dashboard_figures(
                today, basis=basis, province_id=province_id, group_id=group_id, plan_id=(filters or {}).get("plan")
            )
        else:
            # SQLite (the demo), or a source document's few tasks: the GROUP BY itself.
            figures_ = counts.orm_figures(tracked, basis)
        per_unit, by_group, by_month = figures_["per_unit"], figures_["by_group"], figures_["by_month"]
        return {
            "per_unit": per_unit,
            "by_group": dict(by_group),
            "by_month": dict(by_month),
            "inspections": _inspections_this_month(today, group_id, province_id, filters or {}),
        }

    return cast(dict, cache.get_or_set(key, compute, CACHE_SECONDS))


def _unit_page(request, data, per_unit, group_id, sort, province_id=None, filters=None):
    """One page of the unit table: every matching unit sorted by its figures, 50 rendered with links."""
    units = Unit.objects.exclude(kind__in=NOT_ROWS)
    if province_id is not None:
        units = units.filter(parent_id=province_id)
    if data.get("kind") == "commune":
        units = units.filter(kind__in=Unit.COMMUNE_LEVEL)
    elif data.get("kind"):
        units = units.filter(kind=data["kind"])
    if data.get("q"):
        units = search.matching(units, data["q"], "code", "name")  # without diacritics
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
    page = Paginator(rows, UNITS_PER_PAGE).get_page(request.GET.get("page"))
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
@reads_from_replica
def dashboard(request):
    """The plan as a whole: by group, by unit (a page at a time), by month; cached aggregates, fixed query count."""
    scope = _require_wide(request)
    today = lifecycle.local_today()
    provinces = list(
        Unit.objects.filter(parent__isnull=True, kind__in=Unit.PROVINCE_LEVEL).order_by("name")
        if scope.sees_all
        else Unit.objects.filter(pk__in=[scope.province_id] if scope.province_id is not None else [])
    )
    # A national actor picks a province (`parent`); anybody else sees their own, whatever is asked.
    chosen = request.GET.get("parent", "")
    province_id = scope.province_id if not scope.sees_all else int(chosen) if chosen.isdigit() else None
    groups = views.task_groups(request.user, province_id)
    plans, documents = views.plans_and_documents(request.user, province_id)
    form = DashboardFilterForm(
        request.GET or None, groups=groups, provinces=provinces, plans=plans, documents=documents
    )
    data = form.cleaned_data if form.is_valid() else getattr(form, "cleaned_data", {})
    group_id = data.get("group")
    if scope.sees_all:
        province_id = data.get("parent")
    # Plan and source document: carried into every number's link, so the list adds up to it.
    filters = {name: data[name] for name in ("plan", "source_document") if data.get(name)}

    # The deadline the classes judge by: the current one by default, so that every figure adds up
    # to the assignment list it links to; the original one to compare with the reports and KPI.
    basis = data.get("basis") or "current"
    tracked = views.source_filter(
        Assignment.objects.tracked(today, original_deadline=basis == "original").order_by(), filters
    )
    if province_id is not None:
        tracked = tracked.filter(in_province(province_id))
    if group_id:
        tracked = tracked.filter(task__group_id=group_id)

    # 1. The four GROUP BYs (by unit, by group, by month, inspections this month), from the cache
    # while nothing changed.
    figures = _dashboard_figures(tracked, today, group_id, province_id, filters, basis)
    sort = data.get("sort") or "overdue"
    unit_page = _unit_page(request, data, figures["per_unit"], group_id, sort, province_id, filters)

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
    totals: defaultdict[str, int] = defaultdict(int)
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

    # 3. The most overdue open work, with the unit head who answers for it (the first five; a link
    # under them, as the "Đang thực hiện quá hạn" count, leads to the whole list a page at a time).
    most_overdue = list(
        tracked.filter(status__in=WORKING, deadline__lt=today)
        .select_related("task", "unit__head", "responsible")
        .order_by("deadline", "pk")[:MOST_OVERDUE]
    )
    for a in most_overdue:
        a.days_overdue = (today - a.deadline).days if a.deadline else 0

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
        "inspections": figures["inspections"],
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
        "basis": basis,
    }
    return render(request, "web/dashboard.html", context)


@login_required
@reads_from_replica
def national(request):
    """The provinces side by side (assigned, on time, late, overdue, rate), each linking to its
    dashboard: one GROUP BY over the tracked work by the unit's province, cached like the dashboard."""
    if not may_view_nation(actor_scope(request.user)):
        raise PermissionDenied(_("Chỉ tài khoản theo dõi toàn quốc xem trang này."))
    today = lifecycle.local_today()
    key = f"national:v1:{today.isoformat()}:{figures.current()}"

    def compute():
        tracked = Assignment.objects.tracked(today, original_deadline=False).order_by()
        return {
            row["province_id"]: row
            # The assignment's province, kept by the database (scope.in_province).
            for row in tracked.values("province_id").annotate(**counts.figure_columns(with_open=False))
        }

    per_province = cache.get_or_set(key, compute, CACHE_SECONDS) or {}
    empty = {"assigned": 0, "on_time": 0, "late": 0, "overdue": 0}
    rows = []
    for province in Unit.objects.filter(parent__isnull=True, kind__in=Unit.PROVINCE_LEVEL).order_by("code"):
        row = {**empty, **per_province.get(province.pk, {}), "province": province}
        row["rate"] = round(100 * row["on_time"] / row["assigned"]) if row["assigned"] else None
        row["url"] = reverse("web:dashboard") + "?" + urlencode({"parent": province.pk})
        rows.append(row)
    totals = {k: sum(r[k] for r in rows) for k in empty}
    totals["rate"] = round(100 * totals["on_time"] / totals["assigned"]) if totals["assigned"] else None
    return render(request, "web/national.html", {"rows": rows, "totals": totals, "today": today})
