"""The plan's task appendix (phụ lục nhiệm vụ) as a workbook: the format `import_plan` reads.

Group rows carry a Roman numeral in STT and the group's title; task rows carry their number and
the six clears. Exporting a plan and importing the file gives the same tasks and assignments.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook

from tasks_app.actions import commune_units
from tasks_app.models import Assignment, Task
from tasks_app.reports.summary import unit_names
from tasks_app.reports.xlsx import GROUP_FILL, _row, _sheet
from tasks_app.roman import to_roman

# (key, heading, width). The importer matches headings tolerantly; these are the canonical ones.
APPENDIX_COLUMNS = [
    ("stt", _("STT"), 6),
    ("code", _("Mã nhiệm vụ"), 14),
    ("title", _("Nhiệm vụ"), 48),
    ("description", _("Nội dung"), 48),
    ("lead", _("Cơ quan chủ trì"), 28),
    ("coordinating", _("Cơ quan phối hợp"), 28),
    ("deliverable", _("Sản phẩm"), 32),
    ("criteria", _("Tiêu chí nghiệm thu"), 32),
    ("deadline", _("Thời hạn"), 13),
    ("authority", _("Thẩm quyền"), 30),
]


def appendix_workbook(title: str, groups) -> Workbook:
    """`groups`: [(number, title, [dict with the APPENDIX_COLUMNS keys])]."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Phụ lục"
    row = _sheet(ws, title, [(str(heading), width) for _key, heading, width in APPENDIX_COLUMNS])
    for number, group_title, tasks in groups:
        values = [to_roman(number), "", group_title] + [""] * (len(APPENDIX_COLUMNS) - 3)
        _row(ws, row, values, bold=True, fill=GROUP_FILL)
        row += 1
        for task in tasks:
            _row(ws, row, [task.get(key, "") for key, _heading, _width in APPENDIX_COLUMNS])
            row += 1
    return wb


def plan_appendix(plan) -> Workbook:
    """The appendix of a plan as it stands in the database (three queries)."""
    commune_count = commune_units(plan.province_id).count()  # the plan's province's communes
    tasks = (
        Task.objects.filter(group__plan=plan)
        .select_related("group", "authority")
        .prefetch_related("assignments__unit")
        .order_by("group__number", "number", "code")
    )
    groups: dict[int, tuple] = {}
    for task in tasks:
        assignments = sorted(task.assignments.all(), key=lambda a: a.unit.code)
        lead = [a for a in assignments if a.role == Assignment.Role.LEAD]
        deadlines = [a.original_deadline or a.deadline for a in lead if a.deadline]
        entry = {
            "stt": task.number,
            "code": task.code,
            "title": task.title,
            "description": task.description,
            "lead": unit_names([a.unit for a in lead], commune_count),
            "coordinating": unit_names(
                [a.unit for a in assignments if a.role == Assignment.Role.COORDINATING], commune_count
            ),
            "deliverable": task.deliverable,
            "criteria": task.acceptance_criteria,
            "deadline": min(deadlines) if deadlines else task.default_deadline,
            "authority": task.authority.full_name if task.authority else "",
        }
        groups.setdefault(task.group.number, (task.group.number, task.group.title, []))[2].append(entry)
    return appendix_workbook(f"Phụ lục nhiệm vụ — {plan.name}", list(groups.values()))
