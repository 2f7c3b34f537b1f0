"""The standard summary table of a plan (biểu tổng hợp tình hình thực hiện nhiệm vụ).

One row per task under its group, with its lead and coordinating units, the deadline, the
deliverable, how the work stands and its class. Like the KPI, the table judges timeliness by the
original deadline (an approved extension is shown, it does not erase the delay). Three queries
whatever the number of tasks and assignments.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Prefetch
from django.utils.translation import gettext as _t

from tasks_app.actions import commune_units
from tasks_app.lifecycle import local_tz
from tasks_app.models import Assignment, Task, Unit
from tasks_app.status import Status, Timeliness

# How an appendix names every commune-level unit at once.
ALL_COMMUNES = "UBND các xã, phường, đặc khu"


@dataclass
class SummaryRow:
    stt: int
    task: Task
    lead: str
    coordinating: str
    deadline: dt.date | None
    extended_to: dt.date | None
    deliverable: str
    situation: str
    classification: str
    counts: Counter = field(default_factory=Counter)


@dataclass
class SummaryGroup:
    number: int
    title: str
    rows: list[SummaryRow]


@dataclass
class Summary:
    title: str
    as_of: dt.date
    groups: list[SummaryGroup]
    counts: Counter  # assignments per timeliness class

    @property
    def rows(self) -> list[SummaryRow]:
        return [row for group in self.groups for row in group.rows]


def report_assignments(plan, *, as_of: dt.date, group=None, unit=None, period=None, actor=None, source_document=None):
    """The assignments a report covers, with `kpi_deadline` (the original) and `timeliness`."""
    queryset = Assignment.objects.filter(task__group__plan=plan)
    if source_document is not None:
        queryset = queryset.filter(task__source_document=source_document)
    if actor is not None:
        queryset = queryset.visible_to(actor)
    if group is not None:
        queryset = queryset.filter(task__group=group)
    if unit is not None:
        queryset = queryset.filter(unit=unit)
    return queryset.tracked(as_of, due_between=(period.start, period.end) if period is not None else None)


def unit_names(units: list[Unit], commune_count: int) -> str:
    """Unit names for one cell: the appendix's collective name when they are all the communes."""
    communes = [u for u in units if u.is_commune_level]
    others = [u.name for u in units if not u.is_commune_level]
    if commune_count and len(communes) == commune_count:
        return "; ".join([*others, ALL_COMMUNES])
    return "; ".join(others + [u.name for u in communes])


def _situation(assignments) -> str:
    if len(assignments) == 1:
        a = assignments[0]
        return f"{Status(a.status).label}, {a.progress}%"
    done = sum(a.status == Status.ACCEPTED for a in assignments)
    return _t("Hoàn thành %(done)s/%(n)s đơn vị") % {"done": done, "n": len(assignments)}


def _classification(counts: Counter) -> str:
    if len(counts) == 1:
        return str(Timeliness(next(iter(counts))).label)
    return "; ".join(f"{t.label}: {counts[t.value]}" for t in Timeliness if counts.get(t.value))


def build_summary(plan, *, group=None, unit=None, period=None, actor=None, today=None, source_document=None) -> Summary:
    from django.utils import timezone

    today = today or timezone.localdate(timezone=local_tz())
    as_of = period.as_of(today) if period is not None else today
    assignments = report_assignments(
        plan, as_of=as_of, group=group, unit=unit, period=period, actor=actor, source_document=source_document
    )
    tasks = (
        Task.objects.filter(pk__in=assignments.values("task_id"))
        .select_related("group")
        .prefetch_related(
            Prefetch("assignments", assignments.select_related("unit").order_by("unit__code"), to_attr="in_report")
        )
        .order_by("group__number", "number", "code")
    )
    commune_count = commune_units(plan.province_id).count()  # the plan's province's communes
    groups: dict[int, SummaryGroup] = {}
    totals: Counter = Counter()
    for stt, task in enumerate(tasks, start=1):
        lead = [a for a in task.in_report if a.role == Assignment.Role.LEAD]
        coordinating = [a for a in task.in_report if a.role == Assignment.Role.COORDINATING]
        counts = Counter(a.timeliness for a in task.in_report if a.timeliness)
        totals.update(counts)
        judged = lead or task.in_report
        deadline = min((a.kpi_deadline for a in judged if a.kpi_deadline), default=None)
        extended = max((a.deadline for a in judged if a.deadline), default=None)
        row = SummaryRow(
            stt=stt,
            task=task,
            lead=unit_names([a.unit for a in lead], commune_count),
            coordinating=unit_names([a.unit for a in coordinating], commune_count),
            deadline=deadline,
            extended_to=extended if extended != deadline else None,
            deliverable=task.deliverable,
            situation=_situation(judged),
            classification=_classification(counts),
            counts=counts,
        )
        groups.setdefault(task.group.number, SummaryGroup(task.group.number, task.group.title, [])).rows.append(row)
    title = _t("Biểu tổng hợp tình hình thực hiện nhiệm vụ — %(plan)s") % {"plan": plan.name}
    if period is not None:
        title += f" — {_t('kỳ')} {period.label}"
    if unit is not None:
        title += f" — {unit.name}"
    if source_document is not None:
        title += f" — {_t('theo văn bản')} {source_document.number}"
    return Summary(title=title, as_of=as_of, groups=list(groups.values()), counts=totals)
