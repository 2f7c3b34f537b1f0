"""Importing a plan appendix from Excel: all or nothing, errors naming the row and the column."""

import datetime as dt
import io
import time
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook, load_workbook

from tasks_app.importers import PlanImportError, fold, import_plan, parse_deadline
from tasks_app.models import Assignment, Official, Plan, Task, TaskGroup, Unit
from tasks_app.reports.appendix import plan_appendix
from tasks_app.reports.xlsx import to_bytes
from tasks_app.status import Status

pytestmark = pytest.mark.django_db

SAMPLE = Path(__file__).resolve().parent.parent / "tasks_app" / "data" / "phu_luc_nhiem_vu_2026_mau.xlsx"
SAMPLE_PLAN = "Kế hoạch phát triển kinh tế - xã hội năm 2026 (mẫu minh họa)"
LEADER = "Phó Chủ tịch UBND thành phố (demo)"
HEADERS = ["STT", "Nhiệm vụ", "Cơ quan chủ trì", "Cơ quan phối hợp", "Sản phẩm", "Thời hạn", "Thẩm quyền"]


@pytest.fixture
def haiphong(db):
    call_command("load_haiphong", verbosity=0)


def workbook(rows, headers=HEADERS, title="PHỤ LỤC NHIỆM VỤ NĂM 2026") -> bytes:
    wb = Workbook()
    ws = wb.active
    if title:
        ws.append([title])
        ws.append([])
    ws.append(headers)
    for row in rows:
        ws.append(row)
    return to_bytes(wb)


def good_row(n, **changes):
    row = {
        "stt": n,
        "title": f"Nhiệm vụ số {n}",
        "lead": "Sở Tài chính",
        "coordinating": "",
        "deliverable": "Báo cáo",
        "deadline": dt.date(2026, 6, 30),
        "authority": LEADER,
    }
    row.update(changes)
    return list(row.values())


def snapshot():
    return (Plan.objects.count(), TaskGroup.objects.count(), Task.objects.count(), Assignment.objects.count())


def refused(content, **kwargs) -> list:
    before = snapshot()
    with pytest.raises(PlanImportError) as caught:
        import_plan(content, year=2026, **kwargs)
    assert snapshot() == before
    return caught.value.problems


def test_sample_appendix_imports_with_fan_out(haiphong):
    result = import_plan(SAMPLE.read_bytes(), year=2026, name=SAMPLE_PLAN)

    plan = Plan.objects.get(name=SAMPLE_PLAN)
    assert result.plan == plan and not result.dry_run
    assert list(plan.groups.values_list("number", flat=True)) == [1, 2, 3]
    assert Task.objects.filter(group__plan=plan).count() == 8
    # 3 + 2 + (114 + 1) × 2 + 2 + 3 + 2 + 2: two tasks led by every commune-level unit.
    assert Assignment.objects.count() == 244 == result.assignment_count
    cut = Task.objects.get(code="2026-PL-03")
    assert cut.assignments.filter(role="lead").count() == 114
    assert cut.assignments.get(role="coordinating").unit.code == "SO-NV"
    assert not Assignment.objects.exclude(status=Status.ISSUED).exists()
    one = cut.assignments.select_related("unit").get(unit__code="10507")
    assert one.deadline == one.original_deadline == dt.date(2026, 6, 30)
    assert one.responsible_id == one.unit.head_id
    assert one.authority.full_name == LEADER
    assert one.missing_clears() == []


def test_dry_run_shows_what_would_be_created_and_writes_nothing(haiphong):
    before = snapshot()

    result = import_plan(SAMPLE.read_bytes(), year=2026, name=SAMPLE_PLAN, dry_run=True)

    assert snapshot() == before
    assert [t.code for t in result.tasks] == [f"2026-PL-{n:02d}" for n in range(1, 9)]
    assert result.assignment_count == 244
    assert "Sẽ tạo 8 nhiệm vụ trong 3 nhóm và 244 phân công" in result.summary()


def test_sample_round_trips_export_then_import(haiphong):
    import_plan(SAMPLE.read_bytes(), year=2026, name=SAMPLE_PLAN)
    exported = to_bytes(plan_appendix(Plan.objects.get(name=SAMPLE_PLAN)))

    original = list(load_workbook(SAMPLE).active.iter_rows(values_only=True))
    again = list(load_workbook(io.BytesIO(exported)).active.iter_rows(values_only=True))
    assert again == original

    # And the exported file imports as the same plan into another plan's name… once codes are free.
    Assignment.objects.all().delete()
    Task.objects.all().delete()
    result = import_plan(exported, year=2026, name="Bản nhập lại")
    assert len(result.tasks) == 8 and result.assignment_count == 244


def test_headers_matched_without_diacritics_and_dates_in_words(haiphong):
    headers = [
        "stt",
        "NHIEM VU",
        "co quan chu tri",
        "Co quan phoi hop",
        "SAN PHAM",
        "thoi han",
        "Tham Quyen",
        "Ghi chú",
    ]
    rows = [
        ["I", "Nhóm một"],
        good_row(1, deadline="30/06/2026") + ["bỏ qua"],
        good_row(2, deadline="Quý III/2026", lead="ubnd phường thành đông"),
        good_row(3, deadline="Tháng 2/2026", lead="SO-XD", coordinating="Sở Văn hóa, Thể thao và Du lịch"),
        good_row(4, deadline="2026-10-15", lead="Phường Hải Dương, Sở Nội vụ", authority="city-leader"),
    ]
    import_plan(workbook(rows, headers), year=2026)

    deadlines = dict(Task.objects.values_list("number", "default_deadline"))
    assert deadlines == {
        1: dt.date(2026, 6, 30),
        2: dt.date(2026, 9, 30),
        3: dt.date(2026, 2, 28),
        4: dt.date(2026, 10, 15),
    }
    assert Task.objects.get(number=2).assignments.get().unit.code == "10507"
    assert set(Task.objects.get(number=4).assignments.values_list("unit__code", flat=True)) == {"10525", "SO-NV"}
    assert Task.objects.get(number=1).description == "Nhiệm vụ số 1"  # no "Nội dung" column: the title


@pytest.mark.parametrize(
    ("change", "column", "message"),
    [
        ({"lead": "Sở Không Có"}, "Cơ quan chủ trì", "Không tìm thấy đơn vị “Sở Không Có”"),
        ({"coordinating": "Phường Ma"}, "Cơ quan phối hợp", "Không tìm thấy đơn vị “Phường Ma”"),
        ({"deadline": "31/02/2026"}, "Thời hạn", "Ngày không hợp lệ"),
        ({"deadline": "thường xuyên"}, "Thời hạn", "Ngày không hợp lệ"),
        ({"deadline": None}, "Thời hạn", "rõ thời gian"),
        ({"deliverable": " "}, "Sản phẩm", "rõ sản phẩm"),
        ({"authority": None}, "Thẩm quyền", "rõ thẩm quyền"),
        ({"authority": "Ông Không Tên"}, "Thẩm quyền", "Không tìm thấy cán bộ"),
        ({"lead": None}, "Cơ quan chủ trì", "rõ trách nhiệm"),
        ({"stt": "1a"}, "STT", "Số thứ tự phải là số nguyên dương"),
        ({"coordinating": "Sở Tài chính"}, "Cơ quan phối hợp", "vừa chủ trì vừa phối hợp"),
    ],
)
def test_bad_row_names_row_and_column_and_changes_nothing(haiphong, change, column, message):
    rows = [["I", "Nhóm một"], good_row(1), good_row(2, **change), good_row(3)]

    problems = refused(workbook(rows))

    assert len(problems) == 1
    assert (problems[0].row, problems[0].column) == (6, column)  # title, blank, header, group, row 1 → row 6
    assert message in problems[0].message
    assert f"Dòng 6, cột “{column}”" in str(problems[0])


def test_unit_without_head_is_a_missing_clear_person(haiphong):
    Unit.objects.filter(code="SO-TC").update(head=None)
    problems = refused(workbook([good_row(1)]))
    assert problems[0].column == "Cơ quan chủ trì" and "rõ người" in problems[0].message


def test_duplicate_task_in_file_and_in_database(haiphong):
    problems = refused(workbook([good_row(1), good_row(2, title="Nhiệm vụ số 1"), good_row(1, title="Khác")]))
    assert [(p.row, p.column) for p in problems] == [(5, "Nhiệm vụ"), (6, "STT")]

    import_plan(workbook([good_row(1)]), year=2026)
    problems = refused(workbook([good_row(1, title="Lần hai")]))
    assert (problems[0].row, problems[0].column) == (4, "STT") and "đã có trong hệ thống" in problems[0].message


def test_every_problem_is_listed_not_just_the_first(haiphong):
    rows = [good_row(1, lead="X"), good_row(2), good_row(3, deadline="hôm qua", deliverable="")]
    problems = refused(workbook(rows))
    assert [(p.row, p.column) for p in problems] == [(4, "Cơ quan chủ trì"), (6, "Sản phẩm"), (6, "Thời hạn")]


def test_wrong_headers_are_refused(haiphong):
    problems = refused(workbook([["1", "Việc"]], headers=["Số", "Tên việc", "Ngày"]))
    assert "Không tìm thấy dòng tiêu đề" in problems[0].message

    problems = refused(workbook([good_row(1)[:5]], headers=HEADERS[:5]))
    assert problems[0].row == 3
    assert "Thiếu cột bắt buộc: “Thời hạn”, “Thẩm quyền”" in problems[0].message


def test_non_excel_file_renamed_xlsx_is_refused(haiphong, tmp_path):
    pdf = tmp_path / "phu_luc.xlsx"
    pdf.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n")
    assert "không phải là tệp Excel" in refused(pdf.read_bytes())[0].message

    other_zip = io.BytesIO()
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    assert "không phải là tệp Excel" in refused(other_zip.getvalue())[0].message


def test_empty_file_and_empty_workbook_are_refused(haiphong):
    assert refused(b"")[0].message == "Tệp rỗng."
    assert "Không tìm thấy dòng tiêu đề" in refused(to_bytes(Workbook()))[0].message
    assert "không có dòng nhiệm vụ nào" in refused(workbook([]))[0].message


def test_thousand_row_file_imports_in_one_go(haiphong):
    departments = list(Unit.objects.filter(kind="department").values_list("name", flat=True))
    rows = []
    for g in range(10):
        rows.append([f"{['I', 'II', 'III', 'IV', 'V', 'VI', 'VII', 'VIII', 'IX', 'X'][g]}", f"Nhóm {g + 1}"])
        for i in range(100):
            n = g * 100 + i + 1
            rows.append(good_row(n, lead=departments[n % len(departments)], deadline=dt.date(2026, 1 + n % 12, 15)))
    content = workbook(rows)

    started = time.perf_counter()
    result = import_plan(content, year=2026)
    elapsed = time.perf_counter() - started

    assert len(result.tasks) == 1000 and TaskGroup.objects.count() == 10
    assert Assignment.objects.filter(status=Status.ISSUED).count() == 1000
    assert elapsed < 60, f"1,000 rows took {elapsed:.1f}s"
    print(f"1,000-row import: {elapsed:.2f}s")


def test_thousand_row_file_with_one_bad_row_imports_nothing(haiphong):
    rows = [good_row(n) for n in range(1, 1000)] + [good_row(1000, lead="Sở Ma")]
    problems = refused(workbook(rows))
    assert [(p.row, p.column) for p in problems] == [(1003, "Cơ quan chủ trì")]


def test_only_the_office_or_the_authority_may_import(haiphong):
    commune_head = Official.objects.get(user__username="head-10507")
    problems = refused(workbook([good_row(1)]), by=commune_head.user)
    assert "Văn phòng UBND" in problems[0].message


def test_command_dry_run_and_refusal(haiphong, tmp_path, capsys):
    call_command("import_plan", str(SAMPLE), "--dry-run", "--plan", SAMPLE_PLAN)
    out = capsys.readouterr().out
    assert "2026-PL-03" in out and "UBND các xã, phường, đặc khu" in out and "Sẽ tạo 8 nhiệm vụ" in out
    assert Task.objects.count() == 0

    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(workbook([good_row(1, deadline="sau Tết")]))
    with pytest.raises(CommandError, match="Dòng 4, cột “Thời hạn”"):
        call_command("import_plan", str(bad))
    assert Task.objects.count() == 0

    call_command("import_plan", str(SAMPLE), "--plan", SAMPLE_PLAN)
    assert "Đã tạo 8 nhiệm vụ" in capsys.readouterr().out


def test_fold_and_deadline_helpers():
    assert fold("  Cơ quan CHỦ TRÌ ") == "co quan chu tri"
    assert fold("Đặc khu Cát Hải") == "dac khu cat hai"
    assert parse_deadline("Quý IV/2026") == dt.date(2026, 12, 31)
    assert parse_deadline("Năm 2026") == dt.date(2026, 12, 31)
    assert parse_deadline("tháng 12 năm 2026") == dt.date(2026, 12, 31)
    with pytest.raises(ValueError):
        parse_deadline("Quý V/2026")
