"""The monthly (or quarterly) meeting report as a Word document in the layout of Decree
30/2020/NĐ-CP on administrative documents (python-docx).

The figures come from `build_summary`, the same as the Excel report's "Tổng hợp" sheet: counts by
the five timeliness classes judged by the original deadline, by group; then the overdue work with
its units and heads, the extensions granted and the field inspections of the period.

Layout (Decree 30/2020, appendix I): A4; margins top and bottom 20–25 mm, left 30–35 mm, right
15–20 mm; Times New Roman; the issuing body (upper case, the body itself bold) top left and the
national motto (bold, 13) top right; the number line under the body and the place-date line
(italic) under the motto; the type of document (BÁO CÁO, bold, 14) and its summary centred; the
body in 13; "Nơi nhận" (bold italic, 12) bottom left and the signer's block bottom right.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from io import BytesIO

from django.utils import timezone
from django.utils.translation import gettext as _t
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from tasks_app.lifecycle import local_tz
from tasks_app.models import ExtensionRequest, Inspection
from tasks_app.reports.summary import Summary, build_summary, report_assignments
from tasks_app.roman import to_roman as roman
from tasks_app.status import Timeliness

DOCX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
FONT = "Times New Roman"
# Who issues the report and where: the city office of Hải Phòng by default.
ISSUER_PARENT = "UBND THÀNH PHỐ HẢI PHÒNG"
ISSUER = "VĂN PHÒNG"
ISSUER_SYMBOL = "BC-VP"
PLACE = "Hải Phòng"
SIGNER_TITLE = "CHÁNH VĂN PHÒNG"
MOTTO = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO_2 = "Độc lập - Tự do - Hạnh phúc"
RECIPIENTS = [
    "Thường trực Thành ủy (để báo cáo);",
    "Chủ tịch, các Phó Chủ tịch UBND thành phố;",
    "Các sở, ban, ngành thành phố;",
    "UBND các xã, phường, đặc khu;",
    "Lưu: VT.",
]
OVERDUE_ROWS = 50


@dataclass
class MeetingReport:
    summary: Summary
    period_label: str
    issued_on: dt.date
    group_counts: list[tuple[str, Counter]]
    overdue: list
    extensions: list
    inspections: list


def period_title(period) -> str:
    if "-Q" in period.label:
        return _t("quý %(q)s năm %(y)s") % {"q": roman(int(period.label[-1])), "y": period.year}
    if "-" in period.label:
        return _t("tháng %(m)s năm %(y)s") % {"m": f"{period.start.month:02d}", "y": period.year}
    return _t("năm %(y)s") % {"y": period.year}


def build_meeting_report(plan, period, *, actor, today: dt.date | None = None, source_document=None) -> MeetingReport:
    """Everything the document shows, for what the actor may see; a fixed number of queries."""
    today = today or timezone.localdate(timezone=local_tz())
    summary = build_summary(plan, period=period, actor=actor, today=today, source_document=source_document)
    group_counts = []
    for group in summary.groups:
        counts: Counter = Counter()
        for row in group.rows:
            counts.update(row.counts)
        group_counts.append((f"{roman(group.number)}. {group.title}", counts))
    as_of = period.as_of(today)
    assignments = report_assignments(
        plan, as_of=as_of, period=period, actor=actor, source_document=source_document
    ).filter(timeliness=Timeliness.OVERDUE)
    overdue = list(
        assignments.select_related("task", "unit__head").order_by("kpi_deadline", "task__code")[:OVERDUE_ROWS]
    )
    for a in overdue:
        a.days_overdue = (as_of - a.kpi_deadline).days
    tz = local_tz()
    start = dt.datetime.combine(period.start, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    extensions = (
        ExtensionRequest.objects.visible_to(actor)
        .filter(
            status=ExtensionRequest.Status.APPROVED,
            decided_at__gte=start,
            decided_at__lt=end,
            assignment__task__group__plan=plan,
        )
        .select_related("assignment__task", "assignment__unit")
        .order_by("decided_at", "id")
    )
    inspections = (
        Inspection.objects.visible_to(actor)
        .filter(date__gte=period.start, date__lte=period.end, assignment__task__group__plan=plan)
        .select_related("assignment__task", "assignment__unit", "inspector")
        .order_by("date", "id")
    )
    if source_document is not None:
        extensions = extensions.filter(assignment__task__source_document=source_document)
        inspections = inspections.filter(assignment__task__source_document=source_document)
    return MeetingReport(
        summary=summary,
        period_label=period_title(period),
        issued_on=today,
        group_counts=group_counts,
        overdue=overdue,
        extensions=list(extensions),
        inspections=list(inspections),
    )


# --- the document ----------------------------------------------------------------------------


def _font(run, size: int = 13, *, bold: bool = False, italic: bool = False) -> None:
    run.font.name = FONT
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.italic = italic
    # Word picks the font of Vietnamese letters from the East Asian slot too.
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)


def _para(container, text: str = "", size: int = 13, *, bold=False, italic=False, align=None, space_after=6):
    paragraph = container.add_paragraph()
    if text:
        _font(paragraph.add_run(text), size, bold=bold, italic=italic)
    if align is not None:
        paragraph.alignment = align
    paragraph.paragraph_format.space_after = Pt(space_after)
    return paragraph


def _cell(cell, text: str, size: int = 13, *, bold=False, italic=False, align=WD_ALIGN_PARAGRAPH.CENTER):
    paragraph = cell.paragraphs[0]
    _font(paragraph.add_run(text), size, bold=bold, italic=italic)
    paragraph.alignment = align
    return paragraph


def _table(document, header: list[str], rows: list[list], widths_mm: list[int] | None = None):
    table = document.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        _cell(cell, text, 12, bold=True)
    for values in rows:
        cells = table.add_row().cells
        for index, (cell, value) in enumerate(zip(cells, values, strict=True)):
            align = WD_ALIGN_PARAGRAPH.LEFT if index == 0 and isinstance(value, str) else WD_ALIGN_PARAGRAPH.CENTER
            _cell(cell, str(value), 12, align=align)
    if widths_mm:
        for row in table.rows:
            for cell, width in zip(row.cells, widths_mm, strict=True):
                cell.width = Mm(width)
    return table


def _header(document, report: MeetingReport) -> None:
    """Issuing body and number on the left, the motto and the place-date line on the right."""
    table = document.add_table(rows=1, cols=2)
    left, right = table.rows[0].cells
    left.width, right.width = Mm(65), Mm(100)
    _cell(left, ISSUER_PARENT, 13)
    _font(left.add_paragraph().add_run(ISSUER), 13, bold=True)
    left.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(left.add_paragraph().add_run(f"Số:       /{ISSUER_SYMBOL}"), 13)
    left.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    _cell(right, MOTTO, 13, bold=True)
    _font(right.add_paragraph().add_run(MOTTO_2), 14, bold=True)
    right.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    day = report.issued_on
    place_date = f"{PLACE}, ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"
    _font(right.add_paragraph().add_run(place_date), 13, italic=True)
    right.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER


def meeting_docx(plan, report: MeetingReport) -> bytes:
    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    normal = document.styles["Normal"]
    normal.font.name, normal.font.size = FONT, Pt(13)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)

    _header(document, report)
    _para(document, space_after=0)
    _para(document, "BÁO CÁO", 14, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=0)
    subject = _t("Tình hình thực hiện %(plan)s %(period)s") % {"plan": plan.name, "period": report.period_label}
    _para(document, subject, 14, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=12)

    summary = report.summary
    total = sum(summary.counts.values())
    _para(
        document,
        _t("Văn phòng UBND thành phố báo cáo kết quả theo dõi, đôn đốc thực hiện nhiệm vụ %(period)s như sau:")
        % {"period": report.period_label},
        align=WD_ALIGN_PARAGRAPH.JUSTIFY,
    )

    _para(document, _t("I. KẾT QUẢ THỰC HIỆN THEO PHÂN LOẠI"), bold=True)
    _para(
        document,
        _t(
            "Tổng số %(n)s lượt nhiệm vụ đến hạn trong kỳ; số liệu tính đến ngày %(d)s, phân loại theo thời hạn ban đầu."
        )
        % {"n": total, "d": summary.as_of.strftime("%d/%m/%Y")},
        align=WD_ALIGN_PARAGRAPH.JUSTIFY,
    )
    rows = []
    for timeliness in Timeliness:
        n = summary.counts.get(timeliness.value, 0)
        rows.append([str(timeliness.label), n, round(100 * n / total, 1) if total else 0])
    rows.append([_t("Tổng cộng"), total, 100 if total else 0])
    _table(document, [_t("Phân loại"), _t("Số phân công"), _t("Tỷ lệ (%)")], rows, [95, 35, 35])

    _para(document, space_after=0)
    _para(document, _t("II. THEO NHÓM NHIỆM VỤ"), bold=True)
    header = [_t("Nhóm nhiệm vụ"), *[str(t.label) for t in Timeliness], _t("Tổng")]
    group_rows = [
        [title, *[counts.get(t.value, 0) for t in Timeliness], sum(counts.values())]
        for title, counts in report.group_counts
    ]
    _table(document, header, group_rows or [[_t("Không có nhiệm vụ trong kỳ"), *[0] * len(Timeliness), 0]])

    _para(document, space_after=0)
    _para(document, _t("III. NHIỆM VỤ QUÁ HẠN, ĐƠN VỊ VÀ NGƯỜI ĐỨNG ĐẦU"), bold=True)
    if report.overdue:
        _table(
            document,
            [_t("STT"), _t("Nhiệm vụ"), _t("Đơn vị"), _t("Người đứng đầu"), _t("Thời hạn"), _t("Số ngày quá hạn")],
            [
                [
                    i,
                    f"{a.task.code}. {a.task.title}",
                    a.unit.name,
                    a.unit.head.full_name if a.unit.head else "—",
                    a.kpi_deadline.strftime("%d/%m/%Y"),
                    a.days_overdue,
                ]
                for i, a in enumerate(report.overdue, start=1)
            ],
        )
    else:
        _para(document, _t("Không có nhiệm vụ quá hạn."))

    _para(document, space_after=0)
    _para(document, _t("IV. GIA HẠN ĐÃ CHẤP THUẬN"), bold=True)
    if report.extensions:
        _table(
            document,
            [_t("STT"), _t("Nhiệm vụ"), _t("Đơn vị"), _t("Thời hạn cũ"), _t("Thời hạn mới")],
            [
                [
                    i,
                    f"{e.assignment.task.code}. {e.assignment.task.title}",
                    e.assignment.unit.name,
                    e.current_deadline.strftime("%d/%m/%Y"),
                    e.requested_deadline.strftime("%d/%m/%Y"),
                ]
                for i, e in enumerate(report.extensions, start=1)
            ],
        )
    else:
        _para(document, _t("Không có đề nghị gia hạn nào được chấp thuận trong kỳ."))

    _para(document, space_after=0)
    _para(document, _t("V. KIỂM TRA THỰC ĐỊA"), bold=True)
    conclusions = Counter(i.conclusion for i in report.inspections)
    _para(
        document,
        _t("Đã kiểm tra %(n)s lượt: đạt %(ok)s, chưa đạt %(bad)s, yêu cầu khắc phục %(fix)s.")
        % {
            "n": len(report.inspections),
            "ok": conclusions.get(Inspection.Conclusion.PASSED, 0),
            "bad": conclusions.get(Inspection.Conclusion.FAILED, 0),
            "fix": conclusions.get(Inspection.Conclusion.REMEDY, 0),
        },
    )
    if report.inspections:
        _table(
            document,
            [_t("Ngày"), _t("Nhiệm vụ"), _t("Đơn vị"), _t("Người kiểm tra"), _t("Kết luận")],
            [
                [
                    i.date.strftime("%d/%m/%Y"),
                    f"{i.assignment.task.code}. {i.assignment.task.title}",
                    i.assignment.unit.name,
                    i.inspector.full_name,
                    str(i.get_conclusion_display() or "—"),
                ]
                for i in report.inspections
            ],
        )

    # "Nơi nhận" bottom left, the signer bottom right.
    _para(document, space_after=0)
    footer = document.add_table(rows=1, cols=2)
    left, right = footer.rows[0].cells
    left.width, right.width = Mm(85), Mm(80)
    _cell(left, "Nơi nhận:", 12, bold=True, italic=True, align=WD_ALIGN_PARAGRAPH.LEFT)
    for line in RECIPIENTS:
        _font(left.add_paragraph().add_run(f"- {line}"), 11)
    _cell(right, SIGNER_TITLE, 13, bold=True)
    for _blank in range(3):
        right.add_paragraph()
    buffer = BytesIO()
    document.save(buffer)
    return buffer.getvalue()
