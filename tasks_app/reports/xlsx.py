"""Excel workbooks (openpyxl): the summary table, the KPI ranking with its drill-down, the appendix.

Vietnamese headings, column widths set for reading and printing, dates as real date cells shown
dd/mm/yyyy, the heading row frozen.
"""

from __future__ import annotations

from io import BytesIO

from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from tasks_app.lifecycle import local_tz
from tasks_app.reports.summary import Summary
from tasks_app.roman import to_roman
from tasks_app.status import Timeliness

DATE_FORMAT = "DD/MM/YYYY"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_thin = Side(style="thin", color="999999")
BORDER = Border(left=_thin, right=_thin, top=_thin, bottom=_thin)
HEADING_FILL = PatternFill("solid", fgColor="DCE6F1")
GROUP_FILL = PatternFill("solid", fgColor="F2F2F2")
WRAP = Alignment(wrap_text=True, vertical="top")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)


def _sheet(ws, title: str, columns: list[tuple[str, int]], subtitle: str = "") -> int:
    """Title, subtitle and the heading row; returns the first data row."""
    ws.cell(row=1, column=1, value=title).font = Font(bold=True, size=13)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(columns))
    if subtitle:
        ws.cell(row=2, column=1, value=subtitle).font = Font(italic=True)
        ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=len(columns))
    for index, (heading, width) in enumerate(columns, start=1):
        cell = ws.cell(row=3, column=index, value=heading)
        cell.font = Font(bold=True)
        cell.fill = HEADING_FILL
        cell.alignment = CENTER
        cell.border = BORDER
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = "A4"
    return 4


def _row(ws, row: int, values: list, *, bold=False, fill=None) -> None:
    for index, value in enumerate(values, start=1):
        if isinstance(value, Promise):
            value = str(value)  # a lazy translation
        cell = ws.cell(row=row, column=index, value=value)
        if isinstance(value, str) and value.startswith("="):
            cell.data_type = "s"  # text from users is never a formula
        cell.border = BORDER
        cell.alignment = WRAP
        if hasattr(value, "year") and not isinstance(value, str):
            cell.number_format = DATE_FORMAT
            cell.alignment = Alignment(horizontal="center", vertical="top")
        if bold:
            cell.font = Font(bold=True)
        if fill:
            cell.fill = fill


def _local_date(moment):
    return timezone.localtime(moment, local_tz()).date() if moment else None


def to_bytes(workbook: Workbook) -> bytes:
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


SUMMARY_COLUMNS = [
    (_("STT"), 6),
    (_("Nhiệm vụ"), 50),
    (_("Cơ quan chủ trì"), 28),
    (_("Cơ quan phối hợp"), 28),
    (_("Thời hạn"), 13),
    (_("Sản phẩm"), 32),
    (_("Tình hình thực hiện"), 36),
    (_("Phân loại"), 30),
]


def summary_workbook(summary: Summary) -> Workbook:
    wb = Workbook()
    ws = wb.active
    ws.title = _t("Biểu tổng hợp")
    subtitle = _t("Số liệu tính đến ngày %(d)s; phân loại theo thời hạn ban đầu.") % {
        "d": summary.as_of.strftime("%d/%m/%Y")
    }
    row = _sheet(ws, summary.title, [(str(h), w) for h, w in SUMMARY_COLUMNS], subtitle)
    for group in summary.groups:
        _row(ws, row, [to_roman(group.number), group.title, "", "", "", "", "", ""], bold=True, fill=GROUP_FILL)
        row += 1
        for r in group.rows:
            situation = r.situation
            if r.extended_to:
                situation += "; " + _t("gia hạn đến %(d)s") % {"d": r.extended_to.strftime("%d/%m/%Y")}
            _row(
                ws,
                row,
                [r.stt, r.task.title, r.lead, r.coordinating, r.deadline, r.deliverable, situation, r.classification],
            )
            row += 1

    totals = wb.create_sheet(_t("Tổng hợp"))
    first = _sheet(
        totals, _t("Tổng hợp theo phân loại"), [(_t("Phân loại"), 32), (_t("Số phân công"), 16), (_t("Tỷ lệ (%)"), 12)]
    )
    total = sum(summary.counts.values())
    for offset, timeliness in enumerate(Timeliness):
        n = summary.counts.get(timeliness.value, 0)
        share = round(100 * n / total, 1) if total else 0
        _row(totals, first + offset, [str(timeliness.label), n, share])
    _row(totals, first + len(Timeliness), [_t("Tổng cộng"), total, 100 if total else 0], bold=True)
    return wb


def kpi_workbook(result, drill_down) -> Workbook:
    """The ranking, the assignments behind each figure, and the scheme it was computed with."""
    from tasks_app.kpi.models import Level

    wb = Workbook()
    ws = wb.active
    ws.title = _t("Xếp hạng")
    subject = _t("Cán bộ") if result.level == Level.OFFICIALS else _t("Đơn vị")
    columns = [
        (_t("Hạng"), 7),
        (_t("Mã"), 12),
        (subject, 36),
        (_t("Số nhiệm vụ"), 10),
        *[(str(t.label), 14) for t in Timeliness],
        (_t("Số lần chậm"), 10),
        (_t("Số lần bị trả lại"), 10),
        (_t("Điểm kết quả nhiệm vụ"), 12),
        (_t("Điểm tiêu chí chung"), 12),
        (_t("Tổng điểm"), 10),
        (_t("Xếp loại"), 30),
        (_t("Ghi chú"), 36),
    ]
    title = _t("Xếp hạng KPI %(level)s — kỳ %(p)s") % {"level": Level(result.level).label, "p": result.period.label}
    subtitle = _t("%(plan)s; số liệu tính đến ngày %(d)s; %(scheme)s") % {
        "plan": result.plan.name,
        "d": result.as_of.strftime("%d/%m/%Y"),
        "scheme": result.scheme,
    }
    row = _sheet(ws, title, columns, subtitle)
    for f in result.figures:
        notes = []
        if f.task_points is not None and not f.general_entered:
            notes.append(_t("điểm tiêu chí chung tạm tính tối đa, chưa chấm"))
        if f.capped:
            notes.append(_t("hạ từ xuất sắc do giới hạn tỷ lệ"))
        if f.leader_factor is not None and f.leader_factor != result.scheme.leader_full_factor:
            notes.append(_t("người đứng đầu: có cấp dưới không hoàn thành nhiệm vụ"))
        _row(
            ws,
            row,
            [
                f.rank,
                f.code,
                f.name,
                f.assignments,
                *[f.counts.get(t.value, 0) for t in Timeliness],
                f.delays,
                f.returns,
                f.task_points,
                f.general_points,
                f.total,
                f.rating_label,
                "; ".join(notes),
            ],
        )
        row += 1

    detail = wb.create_sheet(_t("Chi tiết"))
    row = _sheet(
        detail,
        _t("Các phân công tạo nên điểm số"),
        [
            (subject, 30),
            (_t("Mã nhiệm vụ"), 14),
            (_t("Nhiệm vụ"), 48),
            (_t("Thời hạn ban đầu"), 13),
            (_t("Thời hạn hiện tại"), 13),
            (_t("Ngày hoàn thành"), 13),
            (_t("Phân loại"), 26),
            (_t("Số lần bị trả lại"), 10),
            (_t("Điểm tối đa"), 10),
            (_t("Điểm đạt"), 10),
        ],
    )
    for figure, assignment, points, kept in drill_down:
        _row(
            detail,
            row,
            [
                figure.name,
                assignment.task.code,
                assignment.task.title,
                assignment.kpi_deadline,
                assignment.deadline,
                _local_date(assignment.completed_at),
                str(Timeliness(assignment.timeliness).label) if assignment.timeliness else "",
                assignment.return_count,
                points,
                kept,
            ],
        )
        row += 1

    scheme = result.scheme
    rules = wb.create_sheet(_t("Cách tính"))
    row = _sheet(rules, str(scheme), [(_t("Tham số"), 52), (_t("Giá trị"), 14)])
    for field_name in (
        "effective_from",
        "general_points_max",
        "task_points_max",
        "delay_penalty",
        "return_penalty",
        "excellent_min",
        "good_min",
        "complete_min",
        "excellent_cap",
        "leader_full_factor",
        "leader_partial_factor",
    ):
        label = str(scheme._meta.get_field(field_name).verbose_name)
        _row(rules, row, [label, getattr(scheme, field_name)])
        row += 1
    return wb
