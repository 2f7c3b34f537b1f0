"""The summary table and the KPI ranking exported to Excel and CSV, read back with openpyxl."""

import csv
import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from tasks_app.kpi.models import GeneralScore
from tasks_app.kpi.scoring import Period, all_assignments_behind, unit_kpi
from tasks_app.models import Assignment
from tasks_app.reports.csv import kpi_csv, summary_csv
from tasks_app.reports.summary import build_summary
from tasks_app.reports.xlsx import kpi_workbook, summary_workbook, to_bytes
from tests.fixtures_web import sign_in

pytestmark = pytest.mark.django_db
Q1 = Period.parse("2026-Q1")


@pytest.fixture(autouse=True)
def _may(time_machine):
    time_machine.move_to(dt.datetime(2026, 5, 10, 9, 0, tzinfo=dt.UTC), tick=False)


@pytest.fixture
def work(give, head_a, head_b, dept_head, make_task, leader):
    """Task 1 for both communes (the collective name), coordinated by the department; task 2 extended."""
    task = make_task(dt.date(2026, 3, 15), title="Cắt giảm 50% thời gian giải quyết thủ tục")
    from tests.conftest import make_assignment

    make_assignment(task, head_a.unit, status="accepted", progress=100)
    Assignment.objects.filter(task=task, unit=head_a.unit).update(
        completed_at=dt.datetime(2026, 3, 1, 3, tzinfo=dt.UTC), submitted_at=dt.datetime(2026, 3, 1, 3, tzinfo=dt.UTC)
    )
    make_assignment(task, head_b.unit, status="in_progress", progress=60)
    make_assignment(task, dept_head.unit, role="coordinating", status="in_progress")
    extended = give(head_a.unit, dt.date(2026, 4, 30), "open", original=dt.date(2026, 2, 27))
    return task, extended


def read(content: bytes):
    return load_workbook(io.BytesIO(content))


def test_summary_table_in_excel(work, plan):
    task, extended = work
    wb = read(to_bytes(summary_workbook(build_summary(plan))))

    ws = wb["Biểu tổng hợp"]
    assert ws["A1"].value.startswith("Biểu tổng hợp tình hình thực hiện nhiệm vụ — Kế hoạch phát triển KT-XH năm 2026")
    assert [c.value for c in ws[3]] == [
        "STT",
        "Nhiệm vụ",
        "Cơ quan chủ trì",
        "Cơ quan phối hợp",
        "Thời hạn",
        "Sản phẩm",
        "Tình hình thực hiện",
        "Phân loại",
    ]
    assert ws.column_dimensions["B"].width == 50 and ws.column_dimensions["E"].width == 13
    assert ws.freeze_panes == "A4"
    assert [ws["A4"].value, ws["B4"].value] == ["I", "Tăng trưởng kinh tế"]
    first = [c.value for c in ws[5]]
    assert first[:4] == [1, task.title, "UBND các xã, phường, đặc khu", "Sở Tài chính"]
    assert first[4].date() == dt.date(2026, 3, 15) and ws["E5"].number_format == "DD/MM/YYYY"
    assert first[5:] == [
        "Báo cáo kết quả",
        "Hoàn thành 1/2 đơn vị",
        "Đang thực hiện quá hạn: 2; Hoàn thành đúng hạn: 1",
    ]
    second = [c.value for c in ws[6]]
    assert second[2] == "Phường Thành Đông" and second[4].date() == dt.date(2026, 2, 27)
    assert second[6] == "Đang thực hiện, 40%; gia hạn đến 30/04/2026"
    assert second[7] == "Đang thực hiện quá hạn"  # judged by the original deadline

    totals = wb["Tổng hợp"]
    assert [[c.value for c in row] for row in totals.iter_rows(min_row=4)] == [
        ["Chưa đến hạn", 0, 0],
        ["Đang thực hiện trong hạn", 0, 0],
        ["Đang thực hiện quá hạn", 3, 75],
        ["Hoàn thành đúng hạn", 1, 25],
        ["Hoàn thành quá hạn", 0, 0],
        ["Tổng cộng", 4, 100],
    ]


def test_summary_for_one_unit_and_period(work, plan, head_b):
    summary = build_summary(plan, unit=head_b.unit, period=Q1)
    assert [(r.lead, r.situation) for r in summary.rows] == [("Phường Hải Dương", "Đang thực hiện, 60%")]
    assert "kỳ 2026-Q1 — Phường Hải Dương" in summary.title


def test_summary_costs_constant_queries(work, plan, give, head_a, django_assert_num_queries):
    for day in range(1, 20):
        give(head_a.unit, dt.date(2026, 6, day), "open")
    with django_assert_num_queries(3):
        summary = build_summary(plan)
    assert len(summary.rows) == 21


def test_summary_csv_for_machines(work, plan):
    rows = list(csv.DictReader(io.StringIO(summary_csv(build_summary(plan)))))
    assert rows[1]["deadline"] == "2026-02-27" and rows[1]["extended_to"] == "2026-04-30"
    assert rows[0]["lead"] == "UBND các xã, phường, đặc khu" and rows[0]["in_progress_overdue"] == "2"


def test_kpi_ranking_in_excel_with_drill_down(work, plan, head_a, leader):
    GeneralScore.objects.create(plan=plan, period="2026-Q1", unit=head_a.unit, points=27, entered_by=leader.user)
    result = unit_kpi(plan, Q1)
    wb = read(to_bytes(kpi_workbook(result, all_assignments_behind(result))))

    ranking = wb["Xếp hạng"]
    assert ranking["A1"].value == "Xếp hạng KPI Xã, phường, đặc khu — kỳ 2026-Q1"
    header = [c.value for c in ranking[3]]
    assert header[:4] == ["Hạng", "Mã", "Đơn vị", "Số nhiệm vụ"]
    assert header[-4:] == ["Điểm tiêu chí chung", "Tổng điểm", "Xếp loại", "Ghi chú"]
    # A: on time + overdue (extension does not count) = (1 + .75) / 2 × 70 = 61.25, + 27.
    a = [c.value for c in ranking[4]]
    assert a[:4] == [1, "10507", "Phường Thành Đông", 2]
    assert a[-7:-2] == [1, 0, 61.25, 27, 88.25] and a[-2] == "Hoàn thành tốt nhiệm vụ"
    b = [c.value for c in ranking[5]]
    assert b[1] == "10525" and b[-3] == 82.5 and "tạm tính" in b[-1]

    detail = wb["Chi tiết"]
    rows = [[c.value for c in row] for row in detail.iter_rows(min_row=4)]
    assert len(rows) == 3
    assert rows[0][0] == "Phường Thành Đông" and rows[0][3].date() == dt.date(2026, 2, 27)
    assert detail["D4"].number_format == "DD/MM/YYYY"
    assert sum(r[9] for r in rows if r[0] == "Phường Thành Đông") == 61.25

    rules = {row[0].value: row[1].value for row in wb["Cách tính"].iter_rows(min_row=4)}
    assert rules["trừ mỗi lần chậm (tỷ lệ điểm nhiệm vụ)"] == 0.25 and rules["ngưỡng hoàn thành xuất sắc"] == 90


def test_kpi_csv(work, plan):
    rows = list(csv.DictReader(io.StringIO(kpi_csv(unit_kpi(plan, Q1)))))
    assert [(r["code"], r["rank"], r["total"], r["rating"]) for r in rows] == [
        ("10507", "1", "91.25", "good"),
        ("10525", "2", "82.50", "good"),
    ]
    assert rows[0]["capped"] == "true"


def test_downloads_are_scoped_to_the_caller(work, client, head_b, leader, plan):
    sign_in(client, head_b)
    response = client.get(f"/kpi/reports/summary.xlsx?plan={plan.pk}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert 'filename="bao-cao-tong-hop-2026.xlsx"' in response["Content-Disposition"]
    ws = read(response.content)["Biểu tổng hợp"]
    assert [ws["C5"].value, ws["C6"].value] == ["Phường Hải Dương", None]

    response = client.get(f"/kpi/units/export.xlsx?period=2026-Q1&plan={plan.pk}")
    ranking = read(response.content)["Xếp hạng"]
    assert [row[1].value for row in ranking.iter_rows(min_row=4)] == ["10525"]
    assert client.get(f"/kpi/units/export.pdf?period=2026-Q1&plan={plan.pk}").status_code == 404
    assert client.get(f"/kpi/reports/appendix.xlsx?plan={plan.pk}").status_code == 403

    sign_in(client, leader)
    response = client.get(f"/kpi/units/export.csv?period=2026-Q1&plan={plan.pk}")
    assert response.content.decode().count("\n") == 3


def test_roman_numerals_round_trip():
    from tasks_app.roman import from_roman, to_roman

    assert [to_roman(n) for n in (1, 4, 9, 10, 14, 40, 90, 400, 1999)] == [
        "I", "IV", "IX", "X", "XIV", "XL", "XC", "CD", "MCMXCIX",
    ]  # fmt: skip
    assert all(from_roman(to_roman(n)) == n for n in range(1, 400))
