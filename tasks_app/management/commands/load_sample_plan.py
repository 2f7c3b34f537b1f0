"""Load the illustrative 2026 plan: 10 task groups, 82 tasks, 22 indicators, issued to the units.

The content (tasks_app/data/sample_plan_2026.json) is sample content built from public press
reports about Hải Phòng's 2026 plan; the plan is stored with `is_sample=True` until the city
imports its real appendix. Needs `manage.py load_haiphong` first (units, heads, city-leader).

Running the command twice changes nothing: every row is looked up by its natural key (plan by
year and name, group and indicator by plan and number, task by code, assignment by task and
unit) and only missing rows are created; rows that exist are left as they are, so edits made
in the app are kept.

`--demo-activity` adds deterministic illustrative activity (progress, submissions, acceptances,
returns, extension requests) through the lifecycle methods, once: it does nothing when the
sample plan already has progress reports.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import NoReturn

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from tasks_app.actions import commune_units, fan_out
from tasks_app.demo_activity import generate_demo_activity
from tasks_app.models import (
    Assignment,
    Indicator,
    Official,
    Plan,
    Task,
    TaskGroup,
    Unit,
)

DATA_FILE = Path(__file__).resolve().parents[2] / "data" / "sample_plan_2026.json"
# The value of a task's "lead" that means every commune-level unit (phường, xã, đặc khu).
ALL_COMMUNES = "communes"
# The official who holds the authority (rõ thẩm quyền) over every sample task.
AUTHORITY_USERNAME = "city-leader"
EXPECTED_COUNTS = {"groups": 10, "tasks": 82, "indicators": 22}
CHANGE_REASON = "load_sample_plan"


def _fail(message: str) -> NoReturn:
    raise CommandError(f"{DATA_FILE.name}: {message}")


def _date(value, where: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        _fail(f"{where}: “{value}” is not a date (YYYY-MM-DD)")


def _text(row: dict, key: str, where: str) -> str:
    value = row.get(key)
    if not isinstance(value, str) or not value.strip():
        _fail(f"{where}: “{key}” is missing or empty")
    return value.strip()


def read_content(path: Path = DATA_FILE) -> dict:
    """Read and check the sample plan; every problem names the task or indicator it is in."""
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot read {path}: {exc}") from exc

    plan = content.get("plan") or {}
    year = plan.get("year")
    _text(plan, "name", "plan")
    indicators, groups = content.get("indicators") or [], content.get("groups") or []
    tasks = [task for group in groups for task in group.get("tasks") or []]
    counts = {"groups": len(groups), "tasks": len(tasks), "indicators": len(indicators)}
    if counts != EXPECTED_COUNTS:
        _fail(f"expected {EXPECTED_COUNTS}, found {counts}")

    indicator_numbers = [row.get("number") for row in indicators]
    if indicator_numbers != list(range(1, len(indicators) + 1)):
        _fail("indicators must be numbered 1, 2, 3… in order")
    for row in indicators:
        where = f"indicator {row['number']}"
        for key in ("name", "unit_of_measure", "responsible_unit"):
            _text(row, key, where)
        try:
            row["annual_target"] = Decimal(str(row.get("annual_target")))
        except InvalidOperation:
            _fail(f"{where}: annual_target “{row.get('annual_target')}” is not a number")

    if [g.get("number") for g in groups] != list(range(1, len(groups) + 1)):
        _fail("groups must be numbered 1, 2, 3… in order")
    number = 0
    for group in groups:
        _text(group, "title", f"group {group['number']}")
        for n, task in enumerate(group["tasks"], start=1):
            number += 1
            # "MH" (minh họa): sample codes never collide with the real appendix the city imports.
            code = f"MH-{year}-{group['number']:02d}-{n:02d}"
            where = f"task {task.get('code')}"
            if task.get("code") != code or task.get("number") != number:
                _fail(f"{where}: expected code {code} and number {number}")
            for key in ("title", "description", "deliverable", "acceptance_criteria", "lead"):
                _text(task, key, where)
            deadline = task["deadline"] = _date(task.get("deadline"), where)
            if deadline.year != year:
                _fail(f"{where}: deadline {deadline} is outside {year}")
            coordinating = task.setdefault("coordinating", [])
            if task["lead"] in coordinating or len(set(coordinating)) != len(coordinating):
                _fail(f"{where}: a unit is listed twice (lead and coordinating units must differ)")
            if ALL_COMMUNES in coordinating:
                _fail(f"{where}: “{ALL_COMMUNES}” may only be the lead")
            if task.get("indicator") is not None and task["indicator"] not in indicator_numbers:
                _fail(f"{where}: no indicator number {task['indicator']}")
    return content


def department_codes(content: dict) -> set[str]:
    """Codes of the units the content names (every one but the all-communes marker)."""
    codes = {row["responsible_unit"] for row in content["indicators"]}
    for group in content["groups"]:
        for task in group["tasks"]:
            codes.add(task["lead"])
            codes.update(task["coordinating"])
    codes.discard(ALL_COMMUNES)
    return codes


class Command(BaseCommand):
    help = (
        "Load the illustrative 2026 plan (10 groups, 82 tasks, 22 indicators) and issue it to the units. "
        "Needs load_haiphong first. Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--demo-activity",
            action="store_true",
            help="also generate deterministic illustrative progress, submissions, acceptances and extensions (once)",
        )

    def handle(self, *args, demo_activity=False, **options):
        content = read_content()
        with transaction.atomic():
            leader, units, communes = self._references(content)
            plan, created = self._load(content, leader, units, communes)
            activity = generate_demo_activity(plan, leader) if demo_activity else None

        totals = {
            "groups": plan.groups.count(),
            "tasks": Task.objects.filter(group__plan=plan).count(),
            "indicators": plan.indicators.count(),
            "assignments": Assignment.objects.filter(task__group__plan=plan).count(),
        }
        self.stdout.write(
            f"{plan.name}: {totals['groups']} nhóm nhiệm vụ, {totals['tasks']} nhiệm vụ, "
            f"{totals['indicators']} chỉ tiêu, {totals['assignments']} phân công."
        )
        self.stdout.write(
            f"Tạo mới / created: {created['groups']} groups, {created['tasks']} tasks, "
            f"{created['indicators']} indicators, {created['assignments']} assignments."
        )
        if demo_activity:
            if activity is None:
                self.stdout.write("Hoạt động minh họa đã có từ trước, không tạo thêm / demo activity already present.")
            else:
                summary = ", ".join(f"{key} {value}" for key, value in sorted(activity.items()))
                self.stdout.write(f"Hoạt động minh họa / demo activity: {summary}.")
        self.stdout.write(
            self.style.WARNING(
                "Lưu ý: đây là nội dung minh họa, chỉ dùng cho đến khi thành phố nhập phụ lục nhiệm vụ thật "
                "của Kế hoạch năm 2026. / Sample content: illustrative only until the city imports its real appendix."
            )
        )

    def _references(self, content):
        """The city leader, the named units and the communes, or a CommandError naming what is missing."""
        needed = department_codes(content)
        units = {u.code: u for u in Unit.objects.filter(code__in=needed)}
        communes = list(commune_units().order_by("code"))
        leader = Official.objects.select_related("user").filter(user__username=AUTHORITY_USERNAME).first()
        problems = []
        if missing := sorted(needed - units.keys()):
            problems.append(f"units {', '.join(missing)}")
        if not communes:
            problems.append("the commune-level units (phường, xã, đặc khu)")
        if leader is None:
            problems.append(f"the official “{AUTHORITY_USERNAME}”")
        if problems:
            raise CommandError(
                f"Missing {'; '.join(problems)}. Run `manage.py load_haiphong` first, then load_sample_plan again."
            )
        headless = sorted(u.code for u in [*units.values(), *communes] if u.head_id is None)
        if headless:
            raise CommandError(
                f"Units without a head (rõ trách nhiệm): {', '.join(headless[:10])}"
                f"{'…' if len(headless) > 10 else ''}. Run `manage.py load_haiphong` to assign heads."
            )
        return leader, units, communes

    def _load(self, content, leader, units, communes):
        created = Counter(groups=0, tasks=0, indicators=0, assignments=0)
        spec = content["plan"]
        plan = Plan.objects.filter(year=spec["year"], name=spec["name"]).first() or _create(
            Plan, year=spec["year"], name=spec["name"], theme=spec.get("theme", ""), is_sample=True
        )
        if not plan.is_sample:
            raise CommandError(f"Plan “{plan.name}” exists and is not sample content; not touching it.")

        indicators = {i.number: i for i in plan.indicators.all()}
        for row in content["indicators"]:
            if row["number"] not in indicators:
                indicators[row["number"]] = _create(
                    Indicator,
                    plan=plan,
                    number=row["number"],
                    name=row["name"],
                    unit_of_measure=row["unit_of_measure"],
                    annual_target=row["annual_target"],
                    target_note=row.get("target_note", ""),
                    responsible_unit=units[row["responsible_unit"]],
                )
                created["indicators"] += 1

        groups = {g.number: g for g in plan.groups.all()}
        codes = [task["code"] for group in content["groups"] for task in group["tasks"]]
        tasks = {t.code: t for t in Task.objects.filter(code__in=codes).select_related("group")}
        if foreign := sorted(code for code, t in tasks.items() if t.group.plan_id != plan.pk):
            raise CommandError(
                f"Task codes {', '.join(foreign)} already belong to another plan; sample plan not loaded."
            )
        for group_spec in content["groups"]:
            group = groups.get(group_spec["number"])
            if group is None:
                group = _create(TaskGroup, plan=plan, number=group_spec["number"], title=group_spec["title"])
                created["groups"] += 1
            for row in group_spec["tasks"]:
                if row["code"] not in tasks:
                    indicator = row.get("indicator")
                    tasks[row["code"]] = _create(
                        Task,
                        group=group,
                        code=row["code"],
                        number=row["number"],
                        title=row["title"],
                        description=row["description"],
                        deliverable=row["deliverable"],
                        acceptance_criteria=row["acceptance_criteria"],
                        default_deadline=row["deadline"],
                        authority=leader,
                        indicator=indicators[indicator] if indicator else None,
                    )
                    created["tasks"] += 1

        taken = set(Assignment.objects.filter(task__group__plan=plan).values_list("task_id", "unit_id"))
        try:
            for group_spec in content["groups"]:
                for row in group_spec["tasks"]:
                    task = tasks[row["code"]]
                    lead = communes if row["lead"] == ALL_COMMUNES else [units[row["lead"]]]
                    coordinating = [units[code] for code in row["coordinating"]]
                    for role, role_units in (
                        (Assignment.Role.LEAD, lead),
                        (Assignment.Role.COORDINATING, coordinating),
                    ):
                        new = [u for u in role_units if (task.pk, u.pk) not in taken]
                        if new:
                            created["assignments"] += len(fan_out(task, new, role=role, by=leader, issue=True))
        except ValidationError as exc:
            raise CommandError(f"Could not issue the sample assignments: {'; '.join(exc.messages)}") from exc
        return plan, created


def _create(model, **fields):
    obj = model(**fields)
    obj._change_reason = CHANGE_REASON
    obj.save()
    return obj
