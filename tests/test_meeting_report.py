"""The meeting report as a .docx in the Decree 30/2020 layout, opened again with python-docx: header
lines, title, and tables whose figures equal the plan's (and the Excel report's)."""

import datetime as dt
from io import BytesIO

import pytest
import time_machine
from django.urls import reverse
from docx import Document
from docx.shared import Pt
from openpyxl import load_workbook

from tasks_app.kpi.scoring import Period
from tasks_app.models import ExtensionRequest, Inspection, SourceDocument, Task
from tasks_app.reports.summary import build_summary
from tasks_app.status import Status, Timeliness
from tests.conftest import make_assignment
from tests.fixtures_web import sign_in

pytestmark = pytest.mark.django_db

UTC = dt.UTC


@pytest.fixture
def november(task, group, leader, head_a, head_b, dept_head, office):
    """Work due in November 2026: done on time, done late, still overdue, and an approved extension."""
    done = make_assignment(task, head_a.unit, deadline=dt.date(2026, 11, 20), status=Status.ACCEPTED)
    late = make_assignment(task, dept_head.unit, deadline=dt.date(2026, 11, 10), status=Status.ACCEPTED)
    stuck = make_assignment(task, head_b.unit, deadline=dt.date(2026, 11, 15), status=Status.IN_PROGRESS)
    type(done).objects.filter(pk=done.pk).update(
        submitted_at=dt.datetime(2026, 11, 12, 3, tzinfo=UTC), completed_at=dt.datetime(2026, 11, 12, 3, tzinfo=UTC)
    )
    type(late).objects.filter(pk=late.pk).update(
        submitted_at=dt.datetime(2026, 11, 25, 3, tzinfo=UTC), completed_at=dt.datetime(2026, 11, 25, 3, tzinfo=UTC)
    )
    document = SourceDocument.objects.create(
        number="125/TB-UBND", date=dt.date(2026, 11, 5), issuer="UBND thành phố", summary="Kết luận tháng 11"
    )
    second = Task.objects.create(
        group=group, code="2026-01-02", number=2, title="Xử lý trụ sở dôi dư", description="Rà soát.",
        deliverable="Báo cáo", acceptance_criteria="Đủ", default_deadline=dt.date(2026, 11, 30), authority=leader,
        source_document=document,
    )  # fmt: skip
    extended = make_assignment(second, head_a.unit, deadline=dt.date(2026, 11, 30), status=Status.IN_PROGRESS)
    extension = ExtensionRequest.objects.create(
        assignment=extended,
        requested_by_label="head-a",
        current_deadline=dt.date(2026, 11, 30),
        requested_deadline=dt.date(2026, 12, 31),
        reason="Chờ vốn",
    )
    with time_machine.travel(dt.datetime(2026, 11, 28, 2, tzinfo=UTC), tick=False):
        extension.decide(by=leader, approve=True, note="Đồng ý")
    Inspection.objects.create(
        assignment=stuck, date=dt.date(2026, 11, 18), inspector=office, findings="Chậm tiến độ.", conclusion="failed"
    )
    return {"done": done, "late": late, "stuck": stuck, "extended": extended, "document": document}


def open_docx(response) -> Document:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert response["Content-Disposition"] == 'attachment; filename="bao-cao-giao-ban-2026-11.docx"'
    return Document(BytesIO(response.content))


def table_rows(table) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in table.rows]


@time_machine.travel(dt.datetime(2026, 12, 5, 3, tzinfo=UTC), tick=False)
def test_meeting_report_docx_has_the_decree_layout_and_the_plans_figures(client, leader, plan, november):
    sign_in(client, leader, verified=True)
    url = reverse("kpi:meeting-export") + f"?plan={plan.pk}&month=2026-11"
    document = open_docx(client.get(url))

    # Header: issuing body and number on the left, the national motto and place-date on the right.
    header = document.tables[0]
    left, right = (cell.text.split("\n") for cell in header.rows[0].cells)
    assert left[:2] == ["UBND THÀNH PHỐ HẢI PHÒNG", "VĂN PHÒNG"] and left[2].startswith("Số:")
    assert left[2].endswith("/BC-VP")
    assert right == [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Hải Phòng, ngày 05 tháng 12 năm 2026",
    ]
    motto_run = header.rows[0].cells[1].paragraphs[0].runs[0]
    assert motto_run.bold and motto_run.font.name == "Times New Roman" and motto_run.font.size == Pt(13)
    assert header.rows[0].cells[1].paragraphs[2].runs[0].italic

    # Title and subject.
    texts = [p.text for p in document.paragraphs]
    title = texts.index("BÁO CÁO")
    assert texts[title + 1] == f"Tình hình thực hiện {plan.name} tháng 11 năm 2026"
    title_run = document.paragraphs[title].runs[0]
    assert title_run.bold and title_run.font.size == Pt(14)

    # The figures by class equal the plan's, computed by the report's one rule.
    summary = build_summary(plan, period=Period.parse("2026-11"), actor=leader.user)
    expected = [[str(t.label), str(summary.counts.get(t.value, 0))] for t in Timeliness]
    figures = table_rows(document.tables[1])
    assert figures[0] == ["Phân loại", "Số phân công", "Tỷ lệ (%)"]
    assert [row[:2] for row in figures[1:6]] == expected
    assert figures[6][:2] == ["Tổng cộng", "4"]
    by_class = {row[0]: int(row[1]) for row in figures[1:6]}
    assert by_class == {
        str(Timeliness.NOT_YET_DUE.label): 0,
        str(Timeliness.ON_TIME.label): 0,
        str(Timeliness.OVERDUE.label): 2,  # still open past its deadline; the extension does not erase it
        str(Timeliness.COMPLETED_ON_TIME.label): 1,
        str(Timeliness.COMPLETED_LATE.label): 1,
    }

    # By group, the overdue work with its unit and head, the extension, the inspection.
    groups = table_rows(document.tables[2])
    assert groups[1][0] == "I. Tăng trưởng kinh tế" and groups[1][-1] == "4"
    overdue = table_rows(document.tables[3])
    assert [(r[2], r[3]) for r in overdue[1:]] == [("Phường Hải Dương", "Head B"), ("Phường Thành Đông", "Head A")]
    extensions = table_rows(document.tables[4])
    assert extensions[1][3:] == ["30/11/2026", "31/12/2026"]
    inspections = table_rows(document.tables[5])
    assert inspections[1] == [
        "18/11/2026",
        "2026-01-01. Giải ngân 100% vốn đầu tư công",
        "Phường Hải Dương",
        "City Office",
        "Chưa đạt",
    ]
    assert "Nơi nhận:" in document.tables[6].rows[0].cells[0].text

    # A4, the decree's margins, Times New Roman 13 as the body's font.
    section = document.sections[0]
    sizes = (section.page_width, section.page_height)
    margins = (section.top_margin, section.bottom_margin, section.left_margin, section.right_margin)
    assert [round(v.mm) for v in sizes] == [210, 297]  # stored in twips
    assert [round(v.mm) for v in margins] == [20, 20, 30, 15]
    assert document.styles["Normal"].font.name == "Times New Roman"
    assert document.styles["Normal"].font.size == Pt(13)


@time_machine.travel(dt.datetime(2026, 12, 5, 3, tzinfo=UTC), tick=False)
def test_the_excel_report_and_the_document_give_the_same_figures(client, leader, plan, november):
    sign_in(client, leader, verified=True)
    for query in ("", f"&source_document={november['document'].pk}"):
        docx = open_docx(client.get(reverse("kpi:meeting-export") + f"?plan={plan.pk}&month=2026-11{query}"))
        xlsx = client.get(reverse("kpi:summary-export", args=["xlsx"]) + f"?plan={plan.pk}&period=2026-11{query}")
        sheet = load_workbook(BytesIO(xlsx.content))["Tổng hợp"]
        excel = [[str(c.value) for c in row[:2]] for row in sheet.iter_rows(min_row=4, max_row=9)]
        word = [row[:2] for row in table_rows(docx.tables[1])[1:]]
        assert word == excel
    # Filtered by the source document: only the task given by the November conclusions.
    assert word[-1] == ["Tổng cộng", "1"]


@time_machine.travel(dt.datetime(2026, 12, 5, 3, tzinfo=UTC), tick=False)
def test_a_commune_gets_only_its_own_figures_and_a_bad_period_is_a_clear_404(client, head_b, plan, november):
    sign_in(client, head_b)
    document = open_docx(client.get(reverse("kpi:meeting-export") + f"?plan={plan.pk}&month=2026-11"))
    assert table_rows(document.tables[1])[-1][:2] == ["Tổng cộng", "1"]
    assert "Phường Thành Đông" not in "".join(c.text for t in document.tables for r in t.rows for c in r.cells)
    response = client.get(reverse("kpi:meeting-export") + f"?plan={plan.pk}&month=2026-13")
    assert response.status_code == 404
