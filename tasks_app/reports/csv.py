"""CSV for machines: English snake_case columns, ISO 8601 dates, UTF-8.

Text cells beginning with `=`, `+`, `-`, `@`, a tab or a carriage return are written with a leading
`'` (OWASP "CSV Injection"), and every text cell is quoted, so a spreadsheet opening the file never
runs a title or a deliverable typed as a formula (ASVS 5.0 1.2.10). A reader that wants the typed
text back removes one leading `'` from such cells.
"""

from __future__ import annotations

import csv
import io

from tasks_app.status import Timeliness

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(value):
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def _write(header: list[str], rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow(header)
    writer.writerows([escape_formula(value) for value in row] for row in rows)
    return buffer.getvalue()


def _iso(value):
    return value.isoformat() if value else ""


def summary_csv(summary) -> str:
    header = ["stt", "group", "task_code", "task", "lead", "coordinating", "deadline", "extended_to"]
    header += ["deliverable", "situation", *[t.value for t in Timeliness]]
    rows = (
        [
            r.stt,
            group.number,
            r.task.code,
            r.task.title,
            r.lead,
            r.coordinating,
            _iso(r.deadline),
            _iso(r.extended_to),
            r.deliverable,
            r.situation,
            *[r.counts.get(t.value, 0) for t in Timeliness],
        ]
        for group in summary.groups
        for r in group.rows
    )
    return _write(header, rows)


def kpi_csv(result) -> str:
    header = ["rank", "code", "name", "assignments", *[t.value for t in Timeliness], "delays", "returns"]
    header += ["task_points", "general_points", "general_entered", "total", "rating", "capped"]
    rows = (
        [
            f.rank or "",
            f.code,
            f.name,
            f.assignments,
            *[f.counts.get(t.value, 0) for t in Timeliness],
            f.delays,
            f.returns,
            f.task_points if f.task_points is not None else "",
            f.general_points if f.general_points is not None else "",
            str(f.general_entered).lower(),
            f.total if f.total is not None else "",
            f.rating or "",
            str(f.capped).lower(),
        ]
        for f in result.figures
    )
    return _write(header, rows)
