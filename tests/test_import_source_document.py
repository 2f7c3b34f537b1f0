"""The appendix's optional "Văn bản giao" column: each task records the directive that gave it;
a cell that does not read as a document refuses the file, naming the row and the column."""

import datetime as dt

import pytest
from django.core.management import call_command

from tasks_app.importers import PlanImportError, import_plan
from tasks_app.models import SourceDocument, Task
from tasks_app.source_documents import parse_source_document
from tests.test_import_plan import HEADERS, good_row, snapshot, workbook

pytestmark = pytest.mark.django_db

COLUMNS = [*HEADERS, "Văn bản giao"]
NOVEMBER = "125/TB-UBND ngày 05/11/2026 của UBND thành phố Hải Phòng: Kết luận phiên họp thường kỳ tháng 11"


@pytest.fixture
def haiphong(db):
    call_command("load_haiphong", verbosity=0)


def test_a_cell_reads_as_number_date_issuer_and_summary():
    document = parse_source_document(NOVEMBER, default_issuer="X")
    assert (document.number, document.date, document.issuer, document.summary) == (
        "125/TB-UBND",
        dt.date(2026, 11, 5),
        "UBND thành phố Hải Phòng",
        "Kết luận phiên họp thường kỳ tháng 11",
    )
    short = parse_source_document("Số 1020/QĐ-UBND ngày 20/12/2025", default_issuer="UBND thành phố Hải Phòng")
    assert (short.number, short.date, short.issuer, short.summary) == (
        "1020/QĐ-UBND",
        dt.date(2025, 12, 20),
        "UBND thành phố Hải Phòng",
        "",
    )
    for bad in ("theo chỉ đạo của lãnh đạo", "125/TB-UBND ngày 31/02/2026"):
        with pytest.raises(ValueError, match="125/TB-UBND|31/02/2026"):
            parse_source_document(bad, default_issuer="X")


def test_imported_tasks_carry_their_source_document(haiphong):
    rows = [good_row(1) + [NOVEMBER], good_row(2) + [NOVEMBER], good_row(3) + [""]]
    import_plan(workbook(rows, headers=COLUMNS), year=2026)
    document = SourceDocument.objects.get()
    assert (document.number, document.issuer) == ("125/TB-UBND", "UBND thành phố Hải Phòng")
    by_number = {t.number: t.source_document_id for t in Task.objects.all()}
    assert by_number == {1: document.pk, 2: document.pk, 3: None}


def test_an_unreadable_source_document_refuses_the_file_naming_row_and_column(haiphong):
    rows = [good_row(1) + [NOVEMBER], good_row(2) + ["theo chỉ đạo miệng"]]
    before = (*snapshot(), SourceDocument.objects.count())
    with pytest.raises(PlanImportError) as caught:
        import_plan(workbook(rows, headers=COLUMNS), year=2026)
    [problem] = caught.value.problems
    assert (problem.row, problem.column) == (5, "Văn bản giao")
    assert "Ghi theo mẫu" in problem.message
    assert (*snapshot(), SourceDocument.objects.count()) == before
