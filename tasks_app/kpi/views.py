"""KPI ranking pages with drill-down, indicator pages with an SVG chart, report downloads, plan import."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from tasks_app.importers import MAX_FILE_BYTES, PlanImportError, import_plan
from tasks_app.inputs import is_id
from tasks_app.kpi import scoring
from tasks_app.kpi.actions import may_report_actual, save_actual
from tasks_app.kpi.models import Level
from tasks_app.models import Indicator, Official, Plan, SourceDocument, TaskGroup, Unit
from tasks_app.replica import reads_from_replica
from tasks_app.reports.appendix import plan_appendix
from tasks_app.reports.csv import as_file as csv_file
from tasks_app.reports.csv import kpi_csv, summary_csv
from tasks_app.reports.meeting import DOCX_CONTENT_TYPE, build_meeting_report, meeting_docx
from tasks_app.reports.summary import build_summary
from tasks_app.reports.xlsx import XLSX_CONTENT_TYPE, kpi_workbook, summary_workbook, to_bytes
from tasks_app.scope import actor_scope, may_lead_city, unit_filter
from tasks_app.status import Timeliness

UNIT_LEVELS = [(Level.COMMUNES.value, Level.COMMUNES.label), (Level.DEPARTMENTS.value, Level.DEPARTMENTS.label)]


def _download(content: bytes | str, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _sees_all(request: HttpRequest) -> bool:
    return may_lead_city(actor_scope(request.user))


def _params(request: HttpRequest, province_id: int | None = None) -> tuple[str, scoring.Period, Plan]:
    """(period text, Period, Plan) from the query, or raise Http404 with a clear message."""
    text = request.GET.get("period") or scoring.default_period()
    try:
        period, plan = scoring.period_and_plan(
            {"period": text, "plan": request.GET.get("plan")}, request.user, province_id
        )
    except ValueError as exc:
        raise Http404(str(exc)) from exc
    except Plan.DoesNotExist as exc:
        raise Http404(str(exc)) from exc
    return text, period, plan


def _level(request: HttpRequest) -> str:
    level = request.GET.get("level") or Level.COMMUNES
    if level not in (Level.COMMUNES, Level.DEPARTMENTS):
        raise Http404(_t("Cấp không hợp lệ."))
    return level


# A ranking is shown a page at a time: 114 communes as stacked rows are 40,000 px on a phone; ten
# rows keep a ranking page within about 6,000 px at 390 px (tests/test_web_phone_browser.py).
FIGURES_PER_PAGE = 10


def _context(request: HttpRequest, result: scoring.KpiResult, figures: list[scoring.Figure], **extra: Any) -> dict:
    page = Paginator(figures, FIGURES_PER_PAGE).get_page(request.GET.get("page"))
    return {
        "result": result,
        "figures": page.object_list,
        "figures_page": page,
        "period": result.period.label,
        "plans": Plan.objects.visible_to(request.user),
        "timeliness": list(Timeliness),
        "can_record": _sees_all(request),
        "query": f"period={result.period.label}&plan={result.plan.pk}",
        **extra,
    }


@login_required
@reads_from_replica
def units(request: HttpRequest) -> HttpResponse:
    _text, period, plan = _params(request)
    level = _level(request)
    result = scoring.unit_kpi(plan, period, level)
    figures = scoring.visible_figures(result, request.user)
    recorded = scoring.latest_recorded(plan, period, level)
    return render(
        request,
        "kpi/units.html",
        _context(request, result, figures, level=level, levels=UNIT_LEVELS, recorded=recorded),
    )


@login_required
@reads_from_replica
def unit_detail(request: HttpRequest, code: str) -> HttpResponse:
    unit = get_object_or_404(Unit, code=code)
    if not actor_scope(request.user).sees_unit(unit):
        raise Http404(_t("Không tìm thấy đơn vị."))
    _text, period, plan = _params(request, unit.province_id)
    result = scoring.unit_kpi(plan, period, Level.COMMUNES if unit.is_commune_level else Level.DEPARTMENTS)
    figure = result.find(unit)
    if figure is None:
        raise Http404(_t("Đơn vị này không được xếp hạng."))
    rows = scoring.assignments_behind(result, figure)
    return render(request, "kpi/detail.html", _context(request, result, [figure], figure=figure, rows=rows))


def _official_units(request: HttpRequest) -> QuerySet[Unit] | None:
    scope = actor_scope(request.user)
    code = request.GET.get("unit")
    if code:
        unit = get_object_or_404(Unit, code=code)
        if not scope.sees_unit(unit):
            raise Http404(_t("Không tìm thấy đơn vị."))
        return Unit.objects.filter(pk=unit.pk)
    seen = unit_filter(scope)
    return None if seen is None else Unit.objects.filter(seen)


@login_required
@reads_from_replica
def officials(request: HttpRequest) -> HttpResponse:
    _text, period, plan = _params(request)
    result = scoring.official_kpi(plan, period, _official_units(request))
    figures = scoring.visible_figures(result, request.user)
    return render(
        request, "kpi/officials.html", _context(request, result, figures, unit_code=request.GET.get("unit", ""))
    )


@login_required
@reads_from_replica
def official_detail(request: HttpRequest, pk: int) -> HttpResponse:
    official = get_object_or_404(Official.objects.select_related("unit"), pk=pk)
    _text, period, plan = _params(request, official.unit.province_id)
    result = scoring.official_kpi(plan, period, Unit.objects.filter(pk=official.unit_id))
    figure = next((f for f in scoring.visible_figures(result, request.user) if f.subject.pk == official.pk), None)
    if figure is None:
        raise Http404(_t("Không tìm thấy cán bộ."))
    rows = scoring.assignments_behind(result, figure)
    return render(request, "kpi/detail.html", _context(request, result, [figure], figure=figure, rows=rows))


@login_required
@require_POST
def record(request: HttpRequest) -> HttpResponse:
    if not _sees_all(request):
        raise PermissionDenied(_t("Chỉ lãnh đạo thành phố và Văn phòng UBND được lưu bảng xếp hạng."))
    _text, period, plan = _params(request)
    level = request.GET.get("level") or Level.COMMUNES
    if level == Level.OFFICIALS:
        result = scoring.official_kpi(plan, period)
    else:
        result = scoring.unit_kpi(plan, period, _level(request))
    ranking = scoring.record_ranking(result, by=request.user)
    messages.success(request, _t("Đã lưu bảng xếp hạng %(r)s.") % {"r": ranking})
    page = reverse("kpi:officials" if level == Level.OFFICIALS else "kpi:units")
    return redirect(f"{page}?period={period.label}&plan={plan.pk}&level={level}")


def _check_format(fmt: str) -> None:
    if fmt not in ("xlsx", "csv"):
        raise Http404(_t("Định dạng không hỗ trợ: dùng xlsx hoặc csv."))


def _export(request: HttpRequest, result: scoring.KpiResult, fmt: str, name: str) -> HttpResponse:
    figures = scoring.visible_figures(result, request.user)
    visible = dataclasses.replace(result, figures=figures)
    filename = f"kpi-{name}-{result.period.label}"
    if fmt == "csv":
        return _download(csv_file(kpi_csv(visible)), f"{filename}.csv", "text/csv; charset=utf-8")
    if result.level == Level.OFFICIALS:
        drill_down = [(f, *row) for f in figures for row in scoring.assignments_behind(result, f)]
    else:
        ids = {f.unit_id for f in figures}
        drill_down = [row for row in scoring.all_assignments_behind(result) if row[0].unit_id in ids]
    return _download(to_bytes(kpi_workbook(visible, drill_down)), f"{filename}.xlsx", XLSX_CONTENT_TYPE)


@login_required
@reads_from_replica
def units_export(request: HttpRequest, fmt: str) -> HttpResponse:
    _check_format(fmt)
    _text, period, plan = _params(request)
    level = _level(request)
    return _export(request, scoring.unit_kpi(plan, period, level), fmt, level)


@login_required
@reads_from_replica
def officials_export(request: HttpRequest, fmt: str) -> HttpResponse:
    _check_format(fmt)
    _text, period, plan = _params(request)
    return _export(request, scoring.official_kpi(plan, period, _official_units(request)), fmt, "officials")


# --- indicators -----------------------------------------------------------------------------


def indicator_chart(indicator: Indicator, width: int = 520, height: int = 240, pad: int = 36) -> dict:
    """Bars of the quarterly actuals against the annual target line, in SVG coordinates."""
    actuals = {a.quarter: a.value for a in indicator.actuals.all()}
    top = max([indicator.annual_target, *actuals.values(), Decimal(1)]) * Decimal("1.15")
    plot_h = height - 2 * pad
    slot = (width - 2 * pad) / 4

    def y(value: Decimal) -> float:
        return round(pad + plot_h - float(value / top) * plot_h, 1)

    bars = []
    for quarter in range(1, 5):
        value = actuals.get(quarter)
        x = round(pad + slot * (quarter - 1) + slot * 0.2, 1)
        bar: dict[str, Any] = {
            "quarter": quarter,
            "x": x,
            "w": round(slot * 0.6, 1),
            "label_x": round(x + slot * 0.3, 1),
        }
        if value is not None:
            bar.update(value=value, y=y(value), h=round(pad + plot_h - y(value), 1), text_y=y(value) - 4)
        bars.append(bar)
    return {
        "width": width,
        "height": height,
        "bars": bars,
        "target_y": y(indicator.annual_target),
        "base_y": pad + plot_h,
        "left": pad,
        "right": width - pad,
        "axis_label_y": height - pad / 3,
    }


class ActualForm(forms.Form):
    quarter = forms.TypedChoiceField(label=_("Quý"), choices=[(q, f"Q{q}") for q in range(1, 5)], coerce=int)
    value = forms.DecimalField(label=_("Giá trị thực hiện"), max_digits=18, decimal_places=3)
    note = forms.CharField(label=_("Ghi chú"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


def _indicators(actor: Any) -> QuerySet[Indicator]:
    """The indicators of the plans of the actor's province (an indicator belongs to its plan's)."""
    return (
        Indicator.objects.filter(plan__in=Plan.objects.visible_to(actor))
        .select_related("responsible_unit", "plan")
        .prefetch_related("actuals__reported_by")
    )


@login_required
@reads_from_replica
def indicators(request: HttpRequest) -> HttpResponse:
    rows = []
    for indicator in _indicators(request.user):
        actuals = list(indicator.actuals.all())
        latest = actuals[-1] if actuals else None
        percent = None
        if latest and indicator.annual_target:
            percent = min(100, round(float(100 * latest.value / indicator.annual_target)))
        rows.append({"indicator": indicator, "latest": latest, "percent": percent})
    return render(request, "kpi/indicators.html", {"rows": rows})


@login_required
def indicator_detail(request: HttpRequest, pk: int) -> HttpResponse:
    indicator = get_object_or_404(_indicators(request.user), pk=pk)
    can_report = may_report_actual(request.user, indicator)
    form = ActualForm(request.POST or None)
    if request.method == "POST":
        if not can_report:
            raise PermissionDenied(_t("Chỉ đơn vị chịu trách nhiệm mới được báo cáo số liệu của chỉ tiêu này."))
        if form.is_valid():
            save_actual(indicator, actor=request.user, **form.cleaned_data)
            messages.success(request, _t("Đã ghi nhận số liệu quý %(q)s.") % {"q": form.cleaned_data["quarter"]})
            return redirect("kpi:indicator", pk=indicator.pk)
    history = indicator.actuals.model.history.filter(indicator_id=indicator.pk).order_by("-history_date")[:20]
    return render(
        request,
        "kpi/indicator_detail.html",
        {
            "indicator": indicator,
            "chart": indicator_chart(indicator),
            "form": form if can_report else None,
            "history": history,
        },
    )


# --- reports --------------------------------------------------------------------------------


@login_required
@reads_from_replica
def reports(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "reports/index.html",
        {
            "plans": Plan.objects.visible_to(request.user),
            "groups": TaskGroup.objects.select_related("plan"),
            "source_documents": SourceDocument.objects.visible_to(request.user),
            "units": Unit.objects.filter(unit_filter(actor_scope(request.user)) or Q()),
            "default_period": scoring.default_period(),
            "can_import": _sees_all(request) or request.user.is_superuser,
        },
    )


def _report_filters(request: HttpRequest) -> tuple[Plan, TaskGroup | None, Unit | None, scoring.Period | None]:
    plan_id = request.GET.get("plan")
    plans = Plan.objects.visible_to(request.user)
    plan = plans.filter(pk=plan_id).first() if plan_id and is_id(plan_id) else plans.first()
    if plan is None:
        raise Http404(_t("Không có kế hoạch."))
    group = unit = period = None
    if request.GET.get("group"):
        group = (
            get_object_or_404(TaskGroup, pk=request.GET["group"], plan=plan) if is_id(request.GET["group"]) else None
        )
        if group is None:
            raise Http404(_t("Không tìm thấy nhóm nhiệm vụ."))
    if request.GET.get("unit"):
        unit = get_object_or_404(Unit, code=request.GET["unit"])
        if not actor_scope(request.user).sees_unit(unit):
            raise Http404(_t("Không tìm thấy đơn vị."))
    if request.GET.get("period"):
        try:
            period = scoring.Period.parse(request.GET["period"])
        except ValueError as exc:
            raise Http404(str(exc)) from exc
    return plan, group, unit, period


def _source_document(request: HttpRequest) -> SourceDocument | None:
    """The `source_document` filter of reports: "the tasks of the November meeting's conclusions"."""
    value = request.GET.get("source_document") or ""
    if not value:
        return None
    if not value.isdigit():
        raise Http404(_t("Không tìm thấy văn bản giao nhiệm vụ."))
    return get_object_or_404(SourceDocument.objects.visible_to(request.user), pk=value)


@login_required
@reads_from_replica
def summary_export(request: HttpRequest, fmt: str) -> HttpResponse:
    _check_format(fmt)
    plan, group, unit, period = _report_filters(request)
    summary = build_summary(
        plan, group=group, unit=unit, period=period, actor=request.user, source_document=_source_document(request)
    )
    name = f"bao-cao-tong-hop-{plan.year}" + (f"-{period.label}" if period else "")
    if fmt == "csv":
        return _download(csv_file(summary_csv(summary)), f"{name}.csv", "text/csv; charset=utf-8")
    return _download(to_bytes(summary_workbook(summary)), f"{name}.xlsx", XLSX_CONTENT_TYPE)


@login_required
@reads_from_replica
def meeting_export(request: HttpRequest) -> HttpResponse:
    """The meeting report (.docx, Decree 30/2020 layout) for `?plan=ID&month=YYYY-MM` or `&quarter=YYYY-Qn`."""
    plan, _group, _unit, period = _report_filters(request)
    text = request.GET.get("month") or request.GET.get("quarter") or (period.label if period else "")
    if not text:
        raise Http404(_t("Hãy chọn tháng (month=2026-11) hoặc quý (quarter=2026-Q4) của báo cáo."))
    try:
        period = scoring.Period.parse(text)
    except ValueError as exc:
        raise Http404(str(exc)) from exc
    report = build_meeting_report(plan, period, actor=request.user, source_document=_source_document(request))
    return _download(meeting_docx(plan, report), f"bao-cao-giao-ban-{period.label}.docx", DOCX_CONTENT_TYPE)


@login_required
@reads_from_replica
def appendix_export(request: HttpRequest) -> HttpResponse:
    # A read: the province-wide, and the national monitor (which reads every province).
    if not actor_scope(request.user).wide:
        raise PermissionDenied(_t("Chỉ lãnh đạo thành phố và Văn phòng UBND được tải phụ lục kế hoạch."))
    plan, _group, _unit, _period = _report_filters(request)
    return _download(to_bytes(plan_appendix(plan)), f"phu-luc-nhiem-vu-{plan.year}.xlsx", XLSX_CONTENT_TYPE)


# --- import ---------------------------------------------------------------------------------


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Tệp phụ lục (.xlsx)"))
    year = forms.IntegerField(label=_("Năm kế hoạch"), min_value=2000, max_value=2100, initial=2026)
    plan_name = forms.CharField(label=_("Tên kế hoạch"), max_length=300, required=False)
    dry_run = forms.BooleanField(label=_("Chỉ kiểm tra, chưa nhập"), required=False, initial=True)

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(_t("Tệp quá lớn (tối đa %(mb)s MB).") % {"mb": MAX_FILE_BYTES // 1048576})
        return upload


def handle_import(request: HttpRequest, form: forms.Form, template: str, extra: dict | None = None) -> HttpResponse:
    """Shared by the web page and the admin page: run the import, show the result or every problem."""
    result = problems = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            province_id = actor_scope(request.user).province_id
            result = import_plan(
                data["file"].read(),
                year=data["year"],
                name=data["plan_name"] or None,
                by=request.user,
                dry_run=data["dry_run"],
                filename=data["file"].name,
                # An office imports its own province's plan (the default: the only one loaded).
                province=Unit.objects.filter(pk=province_id).first() if province_id else None,
            )
        except PlanImportError as exc:
            problems = exc.problems
        else:
            messages.success(request, result.summary())
    return render(request, template, {"form": form, "result": result, "problems": problems, **(extra or {})})


@login_required
def import_page(request: HttpRequest) -> HttpResponse:
    if not (_sees_all(request) or request.user.is_superuser):
        raise PermissionDenied(_t("Chỉ lãnh đạo thành phố và Văn phòng UBND được nhập phụ lục kế hoạch."))
    return handle_import(request, ImportForm(request.POST or None, request.FILES or None), "reports/import.html")
