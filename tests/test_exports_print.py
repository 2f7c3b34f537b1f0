"""Spreadsheets and CSV as people open and print them: every Excel sheet on A4 landscape, fitted to
the page's width with its heading row repeated; every CSV download starts with a UTF-8 BOM so that
Excel shows Vietnamese; the pages carry a print stylesheet."""

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.conftest import make_assignment
from tests.fixtures_web import sign_in

pytestmark = pytest.mark.django_db
BOM = b"\xef\xbb\xbf"


@pytest.fixture
def exports(client, leader, task, head_a, head_b, plan):
    make_assignment(task, head_a.unit)
    make_assignment(task, head_b.unit)
    sign_in(client, leader)
    return {
        "summary.xlsx": f"/kpi/reports/summary.xlsx?plan={plan.pk}",
        "summary.csv": f"/kpi/reports/summary.csv?plan={plan.pk}",
        "kpi.xlsx": f"/kpi/units/export.xlsx?period=2026&plan={plan.pk}",
        "kpi.csv": f"/kpi/units/export.csv?period=2026&plan={plan.pk}",
        "officials.xlsx": f"/kpi/officials/export.xlsx?period=2026&plan={plan.pk}",
        "appendix.xlsx": f"/kpi/reports/appendix.xlsx?plan={plan.pk}",
    }


def test_every_sheet_prints_on_a4_landscape_fitted_to_width_with_repeated_headings(client, exports):
    for name, url in exports.items():
        if not name.endswith(".xlsx"):
            continue
        response = client.get(url)
        assert response.status_code == 200, name
        for ws in load_workbook(io.BytesIO(response.content)).worksheets:
            setup = ws.page_setup
            where = f"{name}: {ws.title}"
            assert (setup.orientation, int(setup.paperSize)) == ("landscape", int(ws.PAPERSIZE_A4)), where
            assert ws.sheet_properties.pageSetUpPr.fitToPage, where
            assert (setup.fitToWidth, setup.fitToHeight) == (1, 0), where
            assert ws.print_title_rows == "$3:$3", where


def test_csv_downloads_start_with_a_bom_and_read_as_utf8(client, exports):
    for name in ("summary.csv", "kpi.csv"):
        response = client.get(exports[name])
        assert response.status_code == 200
        assert response.content.startswith(BOM), name
        text = response.content.decode("utf-8-sig")
        assert not text.startswith("\ufeff") and text.split(",", 1)[0].strip('"') in ("stt", "rank")


def test_pages_carry_a_print_stylesheet(client, exports, task):
    page = client.get(f"/tasks/{task.code}/").content.decode()
    assert 'media="print"' in page
    from django.contrib.staticfiles import finders

    css = Path(finders.find("web/print.css")).read_text(encoding="utf-8")
    assert "@page" in css and ".site-header" in css and "table-header-group" in css
