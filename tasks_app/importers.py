"""Import a plan's task appendix (phụ lục nhiệm vụ) from Excel: all or nothing.

The file is checked for size, rows and columns, then streamed, and every row checked before anything is written; any problem refuses
the whole file with a list naming the row and the column. Headings are matched tolerantly
(Vietnamese with or without diacritics, any case, extra spaces; unknown columns are ignored).

Rows: a group row has a Roman numeral (or nothing) in STT and a title; a task row has its number
in STT. A lead of "UBND các xã, phường, đặc khu" fans the task out to every commune-level unit.
Several units in one cell are separated by ";" or new lines. When "Nội dung" is blank the title
is the description; when "Tiêu chí nghiệm thu" is blank the criterion is acceptance by the
authority. Assignments are issued (all six clears present) with the unit head answering for them.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import xml.etree.ElementTree as ET  # noqa: S405 (only streams parts already refused if they declare a DTD)
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any, cast

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _t
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from simple_history.utils import bulk_create_with_history

from tasks_app import actions
from tasks_app.lifecycle import Clear
from tasks_app.models import Assignment, Official, Plan, SourceDocument, Task, TaskGroup, Unit
from tasks_app.reports.appendix import APPENDIX_COLUMNS
from tasks_app.roman import from_roman
from tasks_app.scope import actor_scope, province_units
from tasks_app.source_documents import SourceDocumentText, parse_source_document

DEFAULT_CRITERIA = "Được người có thẩm quyền xem xét, nghiệm thu"
REQUIRED = ("stt", "title", "lead", "deliverable", "deadline", "authority")
# Heading variants seen in appendices, after folding (no diacritics, lower case, single spaces).
ALIASES = {
    "stt": ["stt", "tt", "so tt", "so thu tu"],
    "code": ["ma nhiem vu", "ma", "ma nv", "ma so"],
    "title": ["nhiem vu", "ten nhiem vu", "nhiem vu cu the", "nhiem vu giai phap", "ten nhiem vu giai phap"],
    "description": ["noi dung", "mo ta", "noi dung chi tiet", "noi dung nhiem vu", "noi dung thuc hien"],
    "lead": ["co quan chu tri", "don vi chu tri", "chu tri", "co quan don vi chu tri"],
    "coordinating": ["co quan phoi hop", "don vi phoi hop", "phoi hop", "co quan don vi phoi hop"],
    "deliverable": ["san pham", "san pham dau ra", "ket qua san pham", "san pham hoan thanh"],
    "criteria": ["tieu chi nghiem thu", "tieu chi", "yeu cau nghiem thu", "tieu chi danh gia"],
    "deadline": ["thoi han", "thoi han hoan thanh", "thoi gian hoan thanh", "han hoan thanh", "thoi gian"],
    "authority": ["tham quyen", "nguoi co tham quyen", "cap co tham quyen", "lanh dao phu trach"],
    # Optional (issue 16): the directive that gave the task, read by tasks_app.source_documents.
    "source_document": ["van ban giao", "van ban giao nhiem vu", "van ban chi dao", "can cu giao nhiem vu"],
}
HEADINGS = {key: str(heading) for key, heading, _width in APPENDIX_COLUMNS}
HEADINGS.setdefault("source_document", "Văn bản giao")
ALL_COMMUNES = {
    "ubnd cac xa phuong dac khu",
    "cac xa phuong dac khu",
    "ubnd cac xa phuong",
    "cac xa phuong",
    "ubnd cap xa",
    "tat ca cac xa phuong dac khu",
    "uy ban nhan dan cac xa phuong dac khu",
}
UNIT_PREFIXES = ("ubnd ", "uy ban nhan dan ")
ROMAN_RE = re.compile(r"^[IVXLC]+\.?$")
QUARTER_RE = re.compile(r"^quy\s+(i{1,3}|iv|[1-4])\s*(?:/|nam)\s*(\d{4})$")
MONTH_RE = re.compile(r"^thang\s+(\d{1,2})\s*(?:/|nam)\s*(\d{4})$")
YEAR_RE = re.compile(r"^(?:nam|trong nam|ca nam)\s+(\d{4})$")
# Limits checked before a row is built (an appendix has ~100 rows and 10 columns).
MAX_ROWS = 20_000
MAX_COLUMNS = 50
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
MAX_PARTS = 1000


def fold(text) -> str:
    """Lower case, no diacritics (đ → d), punctuation to spaces, single spaces."""
    text = unicodedata.normalize("NFD", str(text or "")).replace("đ", "d").replace("Đ", "D")
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn").lower()
    return " ".join(re.sub(r"[^\w/]+", " ", text).split())


@dataclass(frozen=True)
class Problem:
    row: int | None
    column: str | None
    message: str

    def __str__(self):
        if self.row and self.column:
            return _t("Dòng %(row)s, cột “%(col)s”: %(msg)s") % {
                "row": self.row,
                "col": self.column,
                "msg": self.message,
            }
        if self.row:
            return _t("Dòng %(row)s: %(msg)s") % {"row": self.row, "msg": self.message}
        return self.message


class PlanImportError(Exception):
    """The file was refused; nothing was written. `problems` lists each one."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class TaskRow:
    row: int
    group_number: int
    group_title: str
    number: int
    code: str
    title: str
    description: str
    lead: list[Unit]
    coordinating: list[Unit]
    deliverable: str
    criteria: str
    deadline: dt.date
    authority: Official
    fans_out: bool = False
    source_document: SourceDocumentText | None = None


@dataclass
class ImportResult:
    plan: Plan
    dry_run: bool
    groups: list[tuple[int, str]] = field(default_factory=list)
    tasks: list[TaskRow] = field(default_factory=list)
    new_groups: int = 0

    @property
    def assignment_count(self) -> int:
        return sum(len(t.lead) + len(t.coordinating) for t in self.tasks)

    def summary(self) -> str:
        verb = _t("Sẽ tạo") if self.dry_run else _t("Đã tạo")
        return _t("%(verb)s %(t)s nhiệm vụ trong %(g)s nhóm và %(a)s phân công cho “%(plan)s”.") % {
            "verb": verb,
            "t": len(self.tasks),
            "g": len(self.groups),
            "a": self.assignment_count,
            "plan": self.plan.name,
        }


# --- reading --------------------------------------------------------------------------------
#
# An upload is refused by size, by the size of its parts unpacked, and by the rows and columns of its
# sheets before openpyxl builds a single row: each sheet's XML is scanned as a stream (expat, constant
# memory) for its row count and rightmost cell. A document type or entity declaration (never in a real
# .xlsx; the way to XML bombs and external entities) is refused in that scan, and any parser error
# that remains becomes a refusal naming the file.


def _refusal(filename: str, message: str) -> PlanImportError:
    if filename:
        message = _t("Tệp “%(name)s”: %(msg)s") % {"name": filename, "msg": message}
    return PlanImportError([Problem(None, None, message)])


def _not_excel(filename: str) -> PlanImportError:
    return _refusal(filename, _t("Tệp không phải là tệp Excel (.xlsx) hợp lệ."))


def _column_index(reference: str) -> int:
    letters = reference.rstrip("0123456789")
    index = 0
    for letter in letters:
        index = index * 26 + (ord(letter.upper()) - 64)
    return index


def _scan_part(archive: zipfile.ZipFile, member: zipfile.ZipInfo, filename: str) -> None:
    """Stream one XML part: no DTD, and for a worksheet at most MAX_ROWS rows and MAX_COLUMNS columns."""
    is_sheet = member.filename.startswith("xl/worksheets/")
    rows = 0
    with archive.open(member) as stream:
        parser = ET.XMLPullParser(events=("start",))
        tail = b""
        while chunk := stream.read(1 << 16):
            window = tail + chunk
            if b"<!DOCTYPE" in window or b"<!ENTITY" in window:
                raise _refusal(filename, _t("Tệp chứa khai báo DTD/thực thể XML, không phải phụ lục Excel hợp lệ."))
            tail = window[-16:]
            if not is_sheet:
                continue
            parser.feed(chunk)
            # With events=("start",) every event is ("start", element); typeshed's union says more.
            for _event, element in cast("Iterator[tuple[str, Any]]", parser.read_events()):
                if not isinstance(element, ET.Element):
                    continue
                tag = element.tag.rsplit("}", 1)[-1]
                if tag == "row":
                    rows += 1
                    # openpyxl pads the gap up to a row's stated number: row 1,000,000 is a million rows.
                    number = element.get("r") or ""
                    if rows > MAX_ROWS or (number.isascii() and number.isdigit() and int(number) > MAX_ROWS):
                        raise _refusal(filename, _t("Tệp quá lớn (tối đa %(n)s dòng).") % {"n": MAX_ROWS})
                elif tag == "c":
                    reference = element.get("r") or ""
                    if _column_index(reference) > MAX_COLUMNS:
                        raise _refusal(
                            filename,
                            _t("Ô %(ref)s nằm ngoài phạm vi phụ lục (tối đa %(n)s cột).")
                            % {"ref": reference[:20], "n": MAX_COLUMNS},
                        )
                element.clear()


def _check_package(content: bytes, filename: str) -> None:
    if len(content) > MAX_FILE_BYTES:
        raise _refusal(filename, _t("Tệp quá lớn (tối đa %(mb)s MB).") % {"mb": MAX_FILE_BYTES // 1048576})
    try:
        with zipfile.ZipFile(BytesIO(content)) as archive:
            members = archive.infolist()
            if len(members) > MAX_PARTS or sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
                raise _refusal(
                    filename,
                    _t("Tệp giải nén quá lớn (tối đa %(mb)s MB).") % {"mb": MAX_UNPACKED_BYTES // 1048576},
                )
            for member in members:
                if member.filename.endswith((".xml", ".rels")):
                    _scan_part(archive, member, filename)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, zlib.error) as exc:
        raise _not_excel(filename) from exc
    except ET.ParseError as exc:
        raise _refusal(filename, _t("Nội dung XML trong tệp bị hỏng: %(e)s") % {"e": exc}) from exc


def _rows(content: bytes, filename: str = "") -> list[tuple]:
    if not content:
        raise _refusal(filename, _t("Tệp rỗng."))
    _check_package(content, filename)
    try:
        workbook = load_workbook(BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError, TypeError) as exc:
        raise _not_excel(filename) from exc
    except SyntaxError as exc:  # lxml's and ElementTree's parse errors both derive from it
        raise _refusal(filename, _t("Nội dung XML trong tệp bị hỏng: %(e)s") % {"e": exc}) from exc
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            raise _refusal(filename, _t("Tệp Excel không có trang tính nào."))
        # Streamed (read-only mode); the scan above bounds how many rows and columns come out.
        return list(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS))
    except SyntaxError as exc:
        raise _refusal(filename, _t("Nội dung XML trong tệp bị hỏng: %(e)s") % {"e": exc}) from exc
    finally:
        workbook.close()


def _find_header(rows) -> tuple[int, dict[str, int]]:
    """The heading row (1-based) and the column index of each known heading."""
    lookup = {alias: key for key, aliases in ALIASES.items() for alias in aliases}
    best: tuple[int, dict[str, int]] = (0, {})
    for index, values in enumerate(rows[:15], start=1):
        columns: dict[str, int] = {}
        for position, value in enumerate(values or ()):
            key = lookup.get(fold(value))
            if key and key not in columns:
                columns[key] = position
        if len(columns) > len(best[1]):
            best = (index, columns)
    header_row, columns = best
    if "title" not in columns or len(columns) < 3:
        expected = ", ".join(f"“{HEADINGS[k]}”" for k in REQUIRED)
        raise PlanImportError(
            [
                Problem(
                    None,
                    None,
                    _t("Không tìm thấy dòng tiêu đề của phụ lục. Cần các cột: %(cols)s.") % {"cols": expected},
                )
            ]
        )
    missing = [HEADINGS[k] for k in REQUIRED if k not in columns]
    if missing:
        raise PlanImportError(
            [
                Problem(
                    header_row,
                    None,
                    _t("Thiếu cột bắt buộc: %(cols)s.") % {"cols": ", ".join(f"“{m}”" for m in missing)},
                )
            ]
        )
    return header_row, columns


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def parse_deadline(value) -> dt.date:
    """A date cell, dd/mm/yyyy, yyyy-mm-dd, or "Quý II/2026", "Tháng 6/2026", "Năm 2026" (last day)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = fold(value)
    for pattern in ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d"):
        try:
            parsed = dt.datetime.strptime(_text(value), pattern).date()  # noqa: DTZ007 (a calendar date)
        except ValueError:
            continue
        if 2000 <= parsed.year <= 2100:
            return parsed
    quarter = QUARTER_RE.match(text)
    if quarter:
        q = {"i": 1, "ii": 2, "iii": 3, "iv": 4}.get(quarter[1]) or int(quarter[1])
        return _month_end(int(quarter[2]), 3 * q)
    month = MONTH_RE.match(text)
    if month and 1 <= int(month[1]) <= 12:
        return _month_end(int(month[2]), int(month[1]))
    year = YEAR_RE.match(text)
    if year:
        return dt.date(int(year[1]), 12, 31)
    raise ValueError(value)


def _month_end(year: int, month: int) -> dt.date:
    first_of_next = dt.date(year + month // 12, month % 12 + 1, 1)
    return first_of_next - dt.timedelta(days=1)


class _Directory:
    """Units and officials, loaded once, looked up by code or folded name."""

    def __init__(self, province: Unit | None = None):
        self.units: dict[str, Unit] = {}
        self.communes: list[Unit] = []
        # The issuing body of a source document that names none: the plan's province (its unit).
        self.city_name = province.name if province is not None else "UBND thành phố"
        # A province's plan names that province's units only: "all communes" are its communes.
        units = Unit.objects.all() if province is None else Unit.objects.filter(pk__in=province_units(province.pk))
        for unit in units:
            if province is None and unit.kind == Unit.Kind.CITY and self.city_name == "UBND thành phố":
                self.city_name = unit.name
            self.units[fold(unit.code)] = unit
            self.units.setdefault(fold(unit.name), unit)
            if unit.is_commune_level:
                self.communes.append(unit)
        self.officials: dict[str, list[Official]] = {}
        officials = Official.objects.select_related("user")
        if province is not None:
            officials = officials.filter(unit__in=province_units(province.pk))
        for official in officials:
            for key in {fold(official.full_name), fold(official.user.username)}:
                self.officials.setdefault(key, []).append(official)

    def unit(self, text: str) -> Unit | None:
        key = fold(text)
        if key in self.units:
            return self.units[key]
        for prefix in UNIT_PREFIXES:
            if key.startswith(prefix) and key[len(prefix) :] in self.units:
                return self.units[key[len(prefix) :]]
        return None

    def units_in(self, cell: str) -> tuple[list[Unit], list[str], bool]:
        """(units, names not found, fans out to all communes)."""
        found, unknown, fans_out = [], [], False
        for part in (p.strip() for p in re.split(r"[;\n]+", cell)):
            if not part:
                continue
            if fold(part) in ALL_COMMUNES:
                found.extend(self.communes)
                fans_out = True
                continue
            unit = self.unit(part)
            if unit is not None:
                found.append(unit)
                continue
            # "Sở A, Sở B" — but a comma may also be part of a name, tried whole first above.
            pieces = [self.unit(piece) for piece in part.split(",") if piece.strip()]
            if len(pieces) > 1 and all(pieces):
                found.extend(pieces)
            else:
                unknown.append(part)
        unique = list({u.pk: u for u in found}.values())
        return unique, unknown, fans_out


class _RowChecker:
    """The checks of one task row, one method per column; each records its problems by column."""

    def __init__(self, values, row_number: int, columns: dict[str, int], directory: _Directory):
        self.values, self.row, self.columns, self.directory = values, row_number, columns, directory
        self.problems: list[Problem] = []

    def raw(self, key: str):
        position = self.columns.get(key)
        return self.values[position] if position is not None and position < len(self.values) else None

    def text(self, key: str) -> str:
        return _text(self.raw(key))

    def problem(self, key: str, message: str) -> None:
        self.problems.append(Problem(self.row, HEADINGS[key], message))

    def number(self) -> int | None:
        stt = self.text("stt")
        try:
            number = int(stt.rstrip("."))
            if number > 0:
                return number
        except ValueError:
            pass
        self.problem(
            "stt", _t("Số thứ tự phải là số nguyên dương (hoặc số La Mã cho dòng nhóm): “%(v)s”.") % {"v": stt}
        )
        return None

    def title(self) -> str:
        title = self.text("title")
        if not title:
            self.problem("title", Clear.TASK.message)
        return title

    def _units(self, key: str, text: str) -> tuple[list[Unit], bool]:
        units, unknown, fans_out = self.directory.units_in(text)
        for name in unknown:
            self.problem(key, _t("Không tìm thấy đơn vị “%(u)s”.") % {"u": name})
        headless = sorted(u.code for u in units if not u.head_id)
        if headless:
            self.problem(key, Clear.PERSON.message + " — " + ", ".join(headless[:10]))
        return units, fans_out

    def lead(self) -> tuple[list[Unit], bool]:
        text = self.text("lead")
        if not text:
            self.problem("lead", Clear.RESPONSIBILITY.message)
            return [], False
        return self._units("lead", text)

    def coordinating(self, lead: list[Unit]) -> list[Unit]:
        text = self.text("coordinating")
        if not text:
            return []
        units, _fans_out = self._units("coordinating", text)
        both = sorted({u.code for u in units} & {u.code for u in lead})
        if both:
            self.problem("coordinating", _t("Đơn vị vừa chủ trì vừa phối hợp: %(u)s.") % {"u": ", ".join(both[:10])})
        return units

    def deliverable(self) -> str:
        deliverable = self.text("deliverable")
        if not deliverable:
            self.problem("deliverable", Clear.DELIVERABLE.message)
        return deliverable

    def deadline(self) -> dt.date | None:
        raw = self.raw("deadline")
        if _text(raw) == "":
            self.problem("deadline", Clear.TIME.message)
            return None
        try:
            return parse_deadline(raw)
        except ValueError:
            self.problem(
                "deadline",
                _t("Ngày không hợp lệ: “%(v)s” (dùng dd/mm/yyyy, “Quý II/2026” hoặc “Tháng 6/2026”).")
                % {"v": _text(raw)},
            )
            return None

    def authority(self) -> Official | None:
        text = self.text("authority")
        if not text:
            self.problem("authority", Clear.AUTHORITY.message)
            return None
        matches = self.directory.officials.get(fold(text), [])
        if len(matches) == 1:
            return matches[0]
        if not matches:
            self.problem("authority", _t("Không tìm thấy cán bộ “%(v)s”.") % {"v": text})
        else:
            self.problem("authority", _t("Có nhiều cán bộ tên “%(v)s”; ghi tên đăng nhập.") % {"v": text})
        return None


def read_appendix(content: bytes, *, plan_year: int, filename: str = "", province: Unit | None = None) -> list[TaskRow]:
    """Parse and check the whole file; raise PlanImportError listing every problem."""
    rows = _rows(content, filename)
    header_row, columns = _find_header(rows)
    directory = _Directory(province)
    problems: list[Problem] = []
    tasks: list[TaskRow] = []
    group_number, group_title, groups_seen = 0, "", 0
    codes: dict[str, int] = {}
    titles: dict[tuple[int, str], int] = {}

    for row_number, values in enumerate(rows[header_row:], start=header_row + 1):
        values = values or ()
        if all(_text(v) == "" for v in values):
            continue
        check = _RowChecker(values, row_number, columns, directory)
        stt, title = check.text("stt"), check.text("title")
        others = [check.text(k) for k in ("lead", "deliverable", "deadline", "authority")]
        if ROMAN_RE.match(stt.upper()) or (not stt and title and not any(others)):
            groups_seen += 1
            group_number = from_roman(stt.rstrip(".").upper()) if stt else groups_seen
            group_title = title or _t("Nhóm %(n)s") % {"n": group_number}
            continue

        number = check.number()
        title = check.title()
        lead, fans_out = check.lead()
        coordinating = check.coordinating(lead)
        deliverable = check.deliverable()
        deadline = check.deadline()
        authority = check.authority()

        code = check.text("code")
        code_column = "code" if code else "stt"
        if not code and number:
            code = f"{plan_year}-{group_number or 1:02d}-{number:02d}"
        if code:
            if code in codes:
                check.problem(
                    code_column, _t("Trùng nhiệm vụ với dòng %(r)s (mã %(c)s).") % {"r": codes[code], "c": code}
                )
            codes.setdefault(code, row_number)
        if title:
            key = (group_number, fold(title))
            if key in titles:
                check.problem("title", _t("Trùng nhiệm vụ với dòng %(r)s.") % {"r": titles[key]})
            titles.setdefault(key, row_number)
        source_document = None
        if check.text("source_document"):
            try:
                source_document = parse_source_document(
                    check.text("source_document"), default_issuer=directory.city_name
                )
            except ValueError as exc:
                check.problem("source_document", str(exc))
        problems += check.problems
        if not check.problems:
            tasks.append(
                TaskRow(
                    row=row_number,
                    group_number=group_number or 1,
                    group_title=group_title or _t("Nhiệm vụ, giải pháp"),
                    number=number,
                    code=code,
                    title=title,
                    description=check.text("description") or title,
                    lead=lead,
                    coordinating=coordinating,
                    deliverable=deliverable,
                    criteria=check.text("criteria") or DEFAULT_CRITERIA,
                    deadline=deadline,
                    authority=authority,
                    fans_out=fans_out,
                    source_document=source_document,
                )
            )

    existing = dict(Task.objects.filter(code__in=list(codes)).values_list("code", "pk"))
    for code in existing:
        problems.append(
            Problem(
                codes[code],
                HEADINGS["code"] if columns.get("code") is not None else HEADINGS["stt"],
                _t("Trùng nhiệm vụ: mã %(c)s đã có trong hệ thống.") % {"c": code},
            )
        )
    if not problems and not tasks:
        problems.append(Problem(None, None, _t("Phụ lục không có dòng nhiệm vụ nào.")))
    if problems:
        raise PlanImportError(sorted(problems, key=lambda p: (p.row or 0, p.column or "")))
    return tasks


def _source_documents(rows: list[TaskRow]) -> dict:
    """The rows' source documents by (number, date): the stored ones, and the new ones created."""
    wanted = {(r.source_document.number, r.source_document.date): r.source_document for r in rows if r.source_document}
    documents = {}
    for (number, date), text in wanted.items():
        documents[(number, date)], _created = SourceDocument.objects.get_or_create(
            number=number, date=date, defaults={"issuer": text.issuer, "summary": text.summary}
        )
    return documents


# --- writing --------------------------------------------------------------------------------


def import_plan(
    content: bytes,
    *,
    year: int,
    name: str | None = None,
    by=None,
    dry_run: bool = False,
    filename: str = "",
    province: Unit | None = None,
) -> ImportResult:
    """Create the tasks of the appendix and issue their assignments, or nothing at all. The plan
    belongs to `province` (default: the one province loaded, when there is exactly one)."""
    name = name or f"Kế hoạch phát triển kinh tế - xã hội năm {year}"
    if province is None:
        roots = list(Unit.objects.filter(parent__isnull=True, kind__in=Unit.PROVINCE_LEVEL)[:2])
        province = roots[0] if len(roots) == 1 else None
    rows = read_appendix(content, plan_year=year, filename=filename, province=province)
    plan = Plan.objects.filter(province=province, year=year, name=name).first() or Plan(
        province=province, year=year, name=name
    )
    groups = list({(t.group_number, t.group_title): None for t in rows})
    result = ImportResult(plan=plan, dry_run=dry_run, groups=groups, tasks=rows)
    if dry_run:
        return result
    scope = actor_scope(by)
    try:
        with transaction.atomic():
            if plan.pk is None:
                plan._history_user = scope.user
                plan.save()
            existing = {g.number: g for g in TaskGroup.objects.filter(plan=plan)}
            new_groups = [
                TaskGroup(plan=plan, number=number, title=title) for number, title in groups if number not in existing
            ]
            for group in bulk_create_with_history(new_groups, TaskGroup, default_user=scope.user):
                existing[group.number] = group
            result.new_groups = len(new_groups)
            documents = _source_documents(rows)
            tasks = bulk_create_with_history(
                [
                    Task(
                        group=existing[r.group_number],
                        code=r.code,
                        number=r.number,
                        title=r.title,
                        description=r.description,
                        deliverable=r.deliverable,
                        acceptance_criteria=r.criteria,
                        default_deadline=r.deadline,
                        authority=r.authority,
                        source_document=documents.get(
                            (r.source_document.number, r.source_document.date) if r.source_document else None
                        ),
                    )
                    for r in rows
                ],
                Task,
                batch_size=500,
                default_user=scope.user,
                default_change_reason="import",
            )
            for task, r in zip(tasks, rows, strict=True):
                actions.fan_out(task, r.lead, role=Assignment.Role.LEAD, deadline=r.deadline, by=by, issue=True)
                if r.coordinating:
                    actions.fan_out(
                        task, r.coordinating, role=Assignment.Role.COORDINATING, deadline=r.deadline, by=by, issue=True
                    )
    except (ValidationError, PermissionDenied) as exc:
        # A rule below the importer (fan-out's six clears or permission) refused: nothing is kept.
        raise PlanImportError([Problem(None, None, "; ".join(getattr(exc, "messages", [str(exc)])))]) from exc
    return result
