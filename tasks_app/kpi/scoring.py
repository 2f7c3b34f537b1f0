"""KPI of units and officials for a month, a quarter or a year, computed with set-based queries.

The rules (Decree 335/2025/NĐ-CP as publicly summarised; every number comes from the plan's
`ScoringScheme` version in force on the period's first day):

- Which assignments count: those of the plan whose **original deadline** (the deadline when
  issued, before any approved extension — DESIGN.md: "the original deadline is kept for KPI and
  reports") falls in the period; drafts and cancelled ones do not count.
- Timeliness is judged by `Assignment.objects.tracked()` against that original deadline, as
  of the day after the period ends (or today while the period runs): an assignment due in the
  period and not done by its end is a delay, exactly as one completed late.
- Each assignment carries `task_points_max × weight / Σ weights` (weight 1 unless the scheme sets
  one for its task); each delay and each returned deliverable costs `delay_penalty` /
  `return_penalty` of those points, never more than all of them.
- Total = general-criteria points (entered by the evaluator; counted at full marks and flagged
  provisional until entered) + task-result points; rated by the scheme's thresholds.
- "Excellent" may not exceed `excellent_cap` (20%, rounded down) of those rated "good" or better in
  one unit (officials) or one level (units ranked together); the lowest excellent totals beyond
  the cap are rated "good" and flagged.
- A unit head answers for the unit: the head's task-result points are the unit's, times the
  leader's unit-results criterion — 100% when every rated subordinate is "complete" or better,
  50% otherwise.

Every figure is computed by one aggregate query per level, whatever the number of units, and
`assignments_behind` lists the assignments behind any figure (the drill-down).
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import models, transaction
from django.db.models import (
    Case,
    Count,
    Expression,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Least
from django.utils import timezone
from django.utils.translation import gettext as _t

from tasks_app.inputs import is_id
from tasks_app.kpi.models import (
    PASSING_RATINGS,
    GeneralScore,
    KpiRanking,
    KpiRankingRow,
    Level,
    Rating,
    ScoringScheme,
    TaskWeight,
)
from tasks_app.lifecycle import local_tz
from tasks_app.models import Assignment, Official, Plan, Unit
from tasks_app.scope import actor_scope, heads_unit
from tasks_app.status import Timeliness

CENT = Decimal("0.01")
DELAYED = (Timeliness.OVERDUE, Timeliness.COMPLETED_LATE)
LEVEL_KINDS = {
    Level.COMMUNES: Unit.COMMUNE_LEVEL,
    Level.DEPARTMENTS: (Unit.Kind.DEPARTMENT,),
}


# --- periods --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A month (2026-03), a quarter (2026-Q1) or a year (2026)."""

    label: str
    start: dt.date
    end: dt.date

    PATTERN = re.compile(r"^\s*(\d{4})(?:-(?:(Q[1-4])|(0[1-9]|1[0-2])))?\s*$", re.IGNORECASE)

    @classmethod
    def parse(cls, text: object) -> Period:
        match = cls.PATTERN.match(str(text or ""))
        if not match:
            raise ValueError(
                _t("Kỳ đánh giá không hợp lệ: “%(p)s”. Dùng 2026 (năm), 2026-Q1 (quý) hoặc 2026-03 (tháng).")
                % {"p": text}
            )
        year = int(match[1])
        if match[2]:
            quarter = int(match[2][1])
            first, last = 3 * quarter - 2, 3 * quarter
            label = f"{year}-Q{quarter}"
        elif match[3]:
            first = last = int(match[3])
            label = f"{year}-{first:02d}"
        else:
            first, last, label = 1, 12, str(year)
        end = dt.date(year, last, calendar.monthrange(year, last)[1])
        return cls(label, dt.date(year, first, 1), end)

    @property
    def year(self) -> int:
        return self.start.year

    def as_of(self, today: dt.date | None = None) -> dt.date:
        """The day timeliness is judged on: the day after the period, or today while it runs."""
        today = today or timezone.localdate(timezone=local_tz())
        return min(self.end + dt.timedelta(days=1), today)

    def __str__(self) -> str:
        return self.label


def plan_for(period: Period, plan_id: int | str | None = None) -> Plan:
    """The plan a period is scored in: the one asked for, else the latest plan of that year."""
    plans = Plan.objects.all()
    plan = plans.filter(pk=plan_id).first() if plan_id else plans.filter(year=period.year).order_by("-id").first()
    if plan is None:
        raise Plan.DoesNotExist(_t("Không có kế hoạch cho kỳ %(p)s.") % {"p": period.label})
    return plan


def scheme_for(plan: Plan, period: Period) -> ScoringScheme:
    """The version in force on the period's first day; the Decree 335 defaults when there is none."""
    scheme = (
        ScoringScheme.objects.filter(plan=plan, effective_from__lte=period.start).order_by("-effective_from").first()
    )
    return scheme or ScoringScheme(plan=plan, effective_from=dt.date(plan.year, 1, 1), name="Nghị định 335/2025/NĐ-CP")


# --- figures --------------------------------------------------------------------------------


@dataclass
class Figure:
    """The KPI of one unit or official for one period."""

    subject: Any  # a Unit or an Official
    code: str
    name: str
    assignments: int = 0
    counts: dict = field(default_factory=dict)
    delays: int = 0
    returns: int = 0
    weight: Decimal = Decimal(0)
    earned: Decimal = Decimal(0)
    task_points: Decimal | None = None
    general_points: Decimal | None = None
    general_entered: bool = False
    leader_factor: Decimal | None = None
    total: Decimal | None = None
    rating: Rating | None = None
    capped: bool = False
    rank: int | None = None
    unit_id: int | None = None

    @property
    def count_list(self) -> list[int]:
        """Counts in the order of the timeliness classes (for tables)."""
        return [self.counts.get(t.value, 0) for t in Timeliness]

    @property
    def is_official(self) -> bool:
        return isinstance(self.subject, Official)

    @property
    def is_rated(self) -> bool:
        return self.rating is not None

    @property
    def rating_label(self) -> str:
        return str(Rating(self.rating).label) if self.rating else _t("Chưa đánh giá")


@dataclass
class KpiResult:
    plan: Plan
    period: Period
    level: str
    scheme: ScoringScheme
    as_of: dt.date
    figures: list[Figure]

    def rated(self) -> list[Figure]:
        return [f for f in self.figures if f.is_rated]

    def find(self, subject: object) -> Figure | None:
        return next((f for f in self.figures if f.subject == subject), None)


def _decimal(value: str) -> Value:
    return Value(Decimal(value), output_field=models.DecimalField(max_digits=12, decimal_places=4))


def kpi_assignments(
    plan: Plan, period: Period, scheme: ScoringScheme, as_of: dt.date | None = None
) -> QuerySet[Assignment]:
    """The assignments that count for the period, annotated with the figures of each.

    Annotations: kpi_deadline, timeliness, delayed (0/1), weight, deduction (share of the
    assignment's points lost) and kept (weight × (1 − deduction)).
    """
    as_of = as_of or period.as_of()
    number: models.DecimalField = models.DecimalField(max_digits=12, decimal_places=4)
    weight: Expression
    if scheme.pk:
        set_weight = TaskWeight.objects.filter(scheme_id=scheme.pk, task_id=OuterRef("task_id")).values("weight")[:1]
        weight = Coalesce(Subquery(set_weight, output_field=number), _decimal("1"), output_field=number)
    else:
        weight = _decimal("1")
    delayed = Case(When(timeliness__in=DELAYED, then=Value(1)), default=Value(0), output_field=models.IntegerField())
    deduction = Least(
        _decimal("1"),
        ExpressionWrapper(
            F("delayed") * _decimal(str(scheme.delay_penalty))
            + F("return_count") * _decimal(str(scheme.return_penalty)),
            output_field=number,
        ),
        output_field=number,
    )
    return (
        Assignment.objects.filter(task__group__plan=plan)
        .tracked(as_of, due_between=(period.start, period.end))
        .annotate(delayed=delayed, weight=weight)  # type: ignore[no-redef]
        .annotate(deduction=deduction)
        .annotate(kept=ExpressionWrapper(F("weight") * (_decimal("1") - F("deduction")), output_field=number))
    )


def _aggregate(queryset: QuerySet[Assignment], key: str) -> dict:
    """One GROUP BY query: the figures of every subject keyed by `key` (unit_id or responsible_id)."""
    counts = {t.value: Count("id", filter=Q(timeliness=t.value)) for t in Timeliness}
    rows = (
        queryset.order_by()
        .values(key)
        .annotate(
            n=Count("id"),
            delays=Sum("delayed"),
            returns=Sum("return_count"),
            weight_sum=Sum("weight"),
            kept_sum=Sum("kept"),
            **{f"c_{name}": expr for name, expr in counts.items()},
        )
    )
    return {row[key]: row for row in rows}


def _fill(figure: Figure, row: dict | None, scheme: ScoringScheme) -> None:
    if not row or not row["n"]:
        return
    figure.assignments = row["n"]
    figure.counts = {t.value: row[f"c_{t.value}"] for t in Timeliness}
    figure.delays = row["delays"] or 0
    figure.returns = row["returns"] or 0
    figure.weight = Decimal(row["weight_sum"])
    figure.earned = Decimal(row["kept_sum"])
    figure.task_points = (scheme.task_points_max * figure.earned / figure.weight).quantize(CENT, ROUND_HALF_UP)


def _score(figure: Figure, scheme: ScoringScheme) -> None:
    if figure.task_points is None:
        return
    general = (
        figure.general_points
        if figure.general_entered and figure.general_points is not None
        else scheme.general_points_max
    )
    figure.general_points = general
    figure.total = (general + figure.task_points).quantize(CENT, ROUND_HALF_UP)
    figure.rating = scheme.rate(figure.total)


def _apply_cap(figures: list[Figure], scheme: ScoringScheme) -> None:
    """At most `excellent_cap` (rounded down) of those rated good or better keep "excellent"."""
    good_or_better = [f for f in figures if f.rating in (Rating.EXCELLENT, Rating.GOOD)]
    allowed = math.floor(scheme.excellent_cap * len(good_or_better) + Decimal("0.000001"))
    excellent = sorted((f for f in good_or_better if f.rating == Rating.EXCELLENT), key=_ranking_key)
    for figure in excellent[allowed:]:
        figure.rating = Rating.GOOD
        figure.capped = True


def _ranking_key(figure: Figure) -> tuple:
    # Best first: higher total, then fewer delays and returns, then by code for a stable order.
    return (figure.total is None, -(figure.total or 0), figure.delays, figure.returns, figure.code)


def _rank(figures: list[Figure]) -> list[Figure]:
    figures.sort(key=_ranking_key)
    previous, rank = None, 0
    for position, figure in enumerate(figures, start=1):
        if figure.total is None:
            figure.rank = None
            continue
        if figure.total != previous:
            rank, previous = position, figure.total
        figure.rank = rank
    return figures


def _general_subquery(plan: Plan, period: Period, subject: str) -> Subquery:
    points = GeneralScore.objects.filter(plan=plan, period=period.label, **{subject: OuterRef("pk")}).values("points")
    return Subquery(points[:1])


def unit_kpi(plan: Plan, period: Period, level: str = Level.COMMUNES, *, today: dt.date | None = None) -> KpiResult:
    """KPI of every unit of a level, ranked; three queries whatever the number of units."""
    scheme = scheme_for(plan, period)
    as_of = period.as_of(today)
    units = Unit.objects.filter(kind__in=LEVEL_KINDS[Level(level)]).annotate(
        general=_general_subquery(plan, period, "unit")
    )
    rows = _aggregate(kpi_assignments(plan, period, scheme, as_of), "unit_id")
    figures = []
    for unit in units:
        figure = Figure(subject=unit, code=unit.code, name=unit.name, unit_id=unit.pk)
        figure.general_entered = unit.general is not None
        figure.general_points = unit.general
        _fill(figure, rows.get(unit.pk), scheme)
        _score(figure, scheme)
        figures.append(figure)
    _apply_cap(figures, scheme)
    return KpiResult(plan, period, level, scheme, as_of, _rank(figures))


def official_kpi(
    plan: Plan, period: Period, units: QuerySet[Unit] | None = None, *, today: dt.date | None = None
) -> KpiResult:
    """KPI of the officials of `units` (all units when None), with the leader rule and the cap per unit.

    Four queries whatever the number of officials: scheme, officials, and one aggregate each by
    responsible official and by unit (the heads' unit results).
    """
    scheme = scheme_for(plan, period)
    as_of = period.as_of(today)
    officials = Official.objects.select_related("unit", "user").annotate(
        general=_general_subquery(plan, period, "official")
    )
    if units is not None:
        officials = officials.filter(unit__in=units)
    assignments = kpi_assignments(plan, period, scheme, as_of)
    by_official = _aggregate(assignments, "responsible_id")
    by_unit = _aggregate(assignments, "unit_id")

    figures: list[Figure] = []
    by_unit_figures: defaultdict[int | None, list[Figure]] = defaultdict(list)
    heads = []
    for official in officials:
        figure = Figure(subject=official, code=official.user.username, name=official.full_name)
        figure.unit_id = official.unit_id
        figure.general_entered = official.general is not None
        figure.general_points = official.general
        if official.is_head:
            _fill(figure, by_unit.get(official.unit_id), scheme)
            heads.append(figure)
        else:
            _fill(figure, by_official.get(official.pk), scheme)
            _score(figure, scheme)
        figures.append(figure)
        by_unit_figures[official.unit_id].append(figure)

    for head in heads:
        subordinates = [f for f in by_unit_figures[head.unit_id] if f is not head and f.is_rated]
        all_passing = all(f.rating in PASSING_RATINGS for f in subordinates)
        head.leader_factor = scheme.leader_full_factor if all_passing else scheme.leader_partial_factor
        if head.task_points is not None:
            head.task_points = (head.task_points * head.leader_factor).quantize(CENT, ROUND_HALF_UP)
        _score(head, scheme)

    for unit_figures in by_unit_figures.values():
        _apply_cap(unit_figures, scheme)
    return KpiResult(plan, period, Level.OFFICIALS, scheme, as_of, _rank(figures))


def assignments_behind(result: KpiResult, figure: Figure) -> list[tuple[Assignment, Decimal | None, Decimal | None]]:
    """The drill-down: the assignments behind one figure, each with its points (one query).

    Returns (assignment, points, kept_points) with the timeliness annotations on the assignment.
    """
    queryset = kpi_assignments(result.plan, result.period, result.scheme, result.as_of).select_related(
        "task", "unit", "responsible"
    )
    subject = figure.subject
    if isinstance(subject, Unit):
        queryset = queryset.filter(unit=subject)
    elif subject.is_head:
        queryset = queryset.filter(unit_id=subject.unit_id)
    else:
        queryset = queryset.filter(responsible=subject)
    return [_with_points(result, figure, a) for a in queryset.order_by("kpi_deadline", "task__code", "id")]


def all_assignments_behind(result: KpiResult) -> list[tuple]:
    """The drill-down of a whole unit ranking (for the export): (figure, assignment, points, kept)."""
    by_unit = {f.unit_id: f for f in result.figures}
    queryset = kpi_assignments(result.plan, result.period, result.scheme, result.as_of).select_related(
        "task", "unit", "responsible"
    )
    queryset = queryset.filter(unit_id__in=list(by_unit)).order_by("unit__code", "kpi_deadline", "task__code")
    return [(by_unit[a.unit_id], *_with_points(result, by_unit[a.unit_id], a)) for a in queryset]


def _with_points(
    result: KpiResult, figure: Figure, assignment: Assignment
) -> tuple[Assignment, Decimal | None, Decimal | None]:
    if not figure.weight:
        return assignment, None, None
    points = result.scheme.task_points_max * assignment.weight / figure.weight
    kept = points * (1 - assignment.deduction)
    return assignment, points.quantize(CENT, ROUND_HALF_UP), kept.quantize(CENT, ROUND_HALF_UP)


# --- recorded rankings ----------------------------------------------------------------------


def record_ranking(result: KpiResult, *, by: Any = None) -> KpiRanking:
    """Keep the ranking as it is now: later changes to assignments or schemes do not touch it."""
    scheme = result.scheme
    with transaction.atomic():
        if scheme.pk is None:
            # The defaults become a stored version, so the record names what it was computed with.
            scheme.save()
        ranking = KpiRanking.objects.create(
            plan=result.plan,
            period=result.period.label,
            level=result.level,
            scheme=scheme,
            as_of=result.as_of,
            recorded_by=by if getattr(by, "is_authenticated", False) else None,
        )
        KpiRankingRow.objects.bulk_create(
            [
                KpiRankingRow(
                    ranking=ranking,
                    rank=f.rank,
                    unit=f.subject if isinstance(f.subject, Unit) else None,
                    official=f.subject if isinstance(f.subject, Official) else None,
                    subject_code=f.code,
                    subject_name=f.name,
                    assignments=f.assignments,
                    not_yet_due=f.counts.get(Timeliness.NOT_YET_DUE, 0),
                    on_time=f.counts.get(Timeliness.ON_TIME, 0),
                    overdue=f.counts.get(Timeliness.OVERDUE, 0),
                    completed_on_time=f.counts.get(Timeliness.COMPLETED_ON_TIME, 0),
                    completed_late=f.counts.get(Timeliness.COMPLETED_LATE, 0),
                    delays=f.delays,
                    returns=f.returns,
                    task_points=f.task_points,
                    general_points=f.general_points,
                    total=f.total,
                    rating=f.rating or "",
                    capped=f.capped,
                )
                for f in result.figures
            ]
        )
    return ranking


def latest_recorded(plan: Plan, period: Period, level: str) -> KpiRanking | None:
    return (
        KpiRanking.objects.filter(plan=plan, period=period.label, level=level).order_by("-recorded_at", "-id").first()
    )


# --- who sees which figures -----------------------------------------------------------------


def visible_figures(result: KpiResult, actor: Any) -> list[Figure]:
    """City leaders, the office, superusers and portal keys see every figure; a unit sees its own
    unit's figure; a unit head sees the unit's officials; an official sees their own."""
    scope = actor_scope(actor)
    if scope.sees_all:
        return result.figures
    if result.level != Level.OFFICIALS:
        return [f for f in result.figures if f.unit_id is not None and f.unit_id == scope.unit_id]
    if heads_unit(scope):
        return [f for f in result.figures if f.unit_id == scope.unit_id]
    return [f for f in result.figures if scope.official_id is not None and f.subject.pk == scope.official_id]


def period_and_plan(params: Mapping[str, Any]) -> tuple[Period, Plan]:
    """From query parameters `period` (required) and `plan` (optional id); ValueError when bad."""
    period = Period.parse(params.get("period"))
    plan_id = params.get("plan")
    if plan_id not in (None, "") and not is_id(plan_id):
        raise ValueError(_t("Mã kế hoạch không hợp lệ: “%(v)s”.") % {"v": plan_id})
    return period, plan_for(period, plan_id or None)


def default_period(today: dt.date | None = None) -> str:
    today = today or timezone.localdate(timezone=local_tz())
    return f"{today.year}-Q{(today.month - 1) // 3 + 1}"
