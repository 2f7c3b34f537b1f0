"""KPI scores with hand-computed expectations (Decree 335 defaults: 30 + 70, 25%, 90/70/50, 20%)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from tasks_app.kpi.models import GeneralScore, Level, Rating, ScoringScheme, TaskWeight
from tasks_app.kpi.scoring import Period, assignments_behind, official_kpi, record_ranking, scheme_for, unit_kpi
from tasks_app.models import Unit
from tasks_app.status import Timeliness
from tests.conftest import make_official

pytestmark = pytest.mark.django_db

Q1 = Period.parse("2026-Q1")
D = Decimal


@pytest.fixture(autouse=True)
def _may(time_machine):
    time_machine.move_to(dt.datetime(2026, 5, 10, 9, 0, tzinfo=dt.UTC), tick=False)


@pytest.fixture
def mixed_unit(give, head_a, plan):
    """Commune A in Q1: 2 on time, 3 late, 1 still open past its deadline, 2 returned deliverables."""
    unit = head_a.unit
    a = dt.date
    give(unit, a(2026, 2, 15), "on_time")  # 1.00
    give(unit, a(2026, 2, 28), "late")  # 0.75 (one delay)
    give(unit, a(2026, 3, 20), "open")  # 0.75 (overdue at the period end)
    give(unit, a(2026, 3, 10), "on_time", returns=1)  # 0.75 (one return)
    give(unit, a(2026, 1, 20), "late", returns=1)  # 0.50 (a delay and a return)
    # Extended from 31/01 to 31/03 and done 20/02: on time by the new deadline, late by the original.
    give(unit, a(2026, 3, 31), "late", done=a(2026, 2, 20), original=a(2026, 1, 31))  # 0.75
    # Not counted: a draft, a cancelled one, one due in the next quarter.
    give(unit, a(2026, 3, 1), "draft")
    give(unit, a(2026, 3, 1), "cancelled")
    give(unit, a(2026, 4, 15), "open")
    return unit


def test_unit_with_known_mix_gets_exact_score_and_rating(mixed_unit, plan, leader):
    GeneralScore.objects.create(plan=plan, period="2026-Q1", unit=mixed_unit, points=D("28"), entered_by=leader.user)

    figure = unit_kpi(plan, Q1).find(mixed_unit)

    assert figure.assignments == 6
    assert figure.counts == {
        Timeliness.NOT_YET_DUE: 0,
        Timeliness.ON_TIME: 0,
        Timeliness.OVERDUE: 1,
        Timeliness.COMPLETED_ON_TIME: 2,
        Timeliness.COMPLETED_LATE: 3,
    }
    assert (figure.delays, figure.returns) == (4, 2)
    # (1 + .75 + .75 + .75 + .5 + .75) / 6 × 70 = 4.5 / 6 × 70 = 52.50
    assert figure.task_points == D("52.50")
    assert figure.general_points == D("28") and figure.general_entered
    assert figure.total == D("80.50")
    assert figure.rating == Rating.GOOD


def test_drill_down_lists_the_assignments_and_their_points(mixed_unit, plan):
    result = unit_kpi(plan, Q1)
    rows = assignments_behind(result, result.find(mixed_unit))

    assert len(rows) == 6
    assert sum(kept for _, _, kept in rows) == D("52.50")
    assert {points for _, points, _ in rows} == {D("11.67")}  # 70 / 6 each
    extended = next(a for a, _, _ in rows if a.deadline == dt.date(2026, 3, 31))
    assert extended.timeliness == Timeliness.COMPLETED_LATE
    assert extended.kpi_deadline == dt.date(2026, 1, 31)


def test_set_weight_changes_the_share_of_each_assignment(mixed_unit, plan):
    scheme = ScoringScheme.objects.create(plan=plan, effective_from=dt.date(2026, 1, 1))
    on_time = mixed_unit.assignments.get(deadline=dt.date(2026, 2, 15))
    TaskWeight.objects.create(scheme=scheme, task=on_time.task, weight=D("3"))

    figure = unit_kpi(plan, Q1).find(mixed_unit)

    # (3 × 1 + .75 + .75 + .75 + .5 + .75) / 8 × 70 = 6.5 / 8 × 70 = 56.875
    assert figure.task_points == D("56.88")
    # Not entered by an evaluator yet: full general marks, flagged provisional.
    assert not figure.general_entered
    assert figure.total == D("86.88")


def test_penalties_never_take_more_than_the_assignment(give, head_a, plan):
    give(head_a.unit, dt.date(2026, 3, 1), "late", returns=5)
    give(head_a.unit, dt.date(2026, 3, 2), "on_time")

    figure = unit_kpi(plan, Q1).find(head_a.unit)

    assert figure.task_points == D("35.00")  # (0 + 1) / 2 × 70


def test_running_period_judges_as_of_today(give, head_a, plan, time_machine):
    time_machine.move_to(dt.datetime(2026, 2, 10, 3, 0, tzinfo=dt.UTC), tick=False)
    give(head_a.unit, dt.date(2026, 2, 10), "open")  # due today: not yet late
    give(head_a.unit, dt.date(2026, 2, 9), "open")  # due yesterday: overdue

    figure = unit_kpi(plan, Q1).find(head_a.unit)

    assert figure.counts[Timeliness.ON_TIME] == 1
    assert figure.counts[Timeliness.OVERDUE] == 1
    assert figure.task_points == D("61.25")  # (1 + .75) / 2 × 70


def test_unit_without_assignments_is_not_rated(plan, head_a, head_b, give):
    give(head_a.unit, dt.date(2026, 3, 1), "on_time")

    result = unit_kpi(plan, Q1)

    assert result.find(head_b.unit).rating is None
    assert result.find(head_b.unit).rank is None
    assert result.figures[0].subject == head_a.unit


def test_excellent_capped_at_20_percent_of_good_or_better(plan, city, give, leader):
    units = [
        Unit.objects.create(code=f"9{i:04d}", name=f"Xã {i}", kind=Unit.Kind.COMMUNE, parent=city) for i in range(10)
    ]
    for i, unit in enumerate(units):
        make_official(f"head-{unit.code}", unit, head=True)
        unit.refresh_from_db()
        give(unit, dt.date(2026, 3, 1), "on_time")
        # Totals 100, 99, 98, 97, 96 (five would be excellent) and 80 × 5 (good).
        points = D(30 - i) if i < 5 else D(10)
        GeneralScore.objects.create(plan=plan, period="2026-Q1", unit=unit, points=points, entered_by=leader.user)

    result = unit_kpi(plan, Q1, Level.COMMUNES)
    ratings = [(f.subject.code, f.total, f.rating, f.capped) for f in result.rated()]

    # 10 rated good or better → at most 2 excellent: the two best keep it, three are capped.
    assert [r[2] for r in ratings] == [Rating.EXCELLENT] * 2 + [Rating.GOOD] * 8
    assert [r[3] for r in ratings] == [False, False, True, True, True, False, False, False, False, False]
    assert [r[1] for r in ratings[:5]] == [D("100.00"), D("99.00"), D("98.00"), D("97.00"), D("96.00")]
    assert [f.rank for f in result.rated()] == [1, 2, 3, 4, 5, 6, 6, 6, 6, 6]


def test_cap_applies_among_officials_of_one_unit(plan, head_a, give, leader):
    unit = head_a.unit
    staff = [make_official(f"staff-{i}", unit) for i in range(5)]
    for official in staff:
        give(unit, dt.date(2026, 3, 1), "on_time", responsible=official)
        GeneralScore.objects.create(
            plan=plan, period="2026-Q1", official=official, points=D(30), entered_by=leader.user
        )
    GeneralScore.objects.create(plan=plan, period="2026-Q1", official=head_a, points=D(30), entered_by=leader.user)

    result = official_kpi(plan, Q1, units=[unit])

    # Six at 100 points (the head answers for the unit's six assignments, all on time):
    # floor(20% × 6) = 1 excellent; the tie is broken by code, the rest are "good".
    rated = result.rated()
    assert len(rated) == 6
    assert sum(f.rating == Rating.EXCELLENT for f in rated) == 1
    assert sum(f.capped for f in rated) == 5


def test_leader_unit_results_full_when_every_subordinate_completes(plan, head_a, official_a, give, leader):
    give(head_a.unit, dt.date(2026, 2, 1), "on_time", responsible=head_a)
    give(head_a.unit, dt.date(2026, 2, 2), "late", responsible=official_a)  # 0.75 → 52.50 + 30 = 82.50 good
    for who in (head_a, official_a):
        GeneralScore.objects.create(plan=plan, period="2026-Q1", official=who, points=D(30), entered_by=leader.user)

    result = official_kpi(plan, Q1, units=[head_a.unit])
    head, official = result.find(head_a), result.find(official_a)

    assert official.total == D("82.50") and official.rating == Rating.GOOD
    # The head answers for the unit: (1 + .75) / 2 × 70 = 61.25, × 100%.
    assert head.leader_factor == D("1.00")
    assert head.task_points == D("61.25")
    assert head.total == D("91.25")
    # 91.25 reaches "excellent", but floor(20% × 2 rated good or better) = 0 in this unit.
    assert head.rating == Rating.GOOD and head.capped


def test_leader_unit_results_halved_when_a_subordinate_does_not_complete(plan, head_a, official_a, give, leader):
    give(head_a.unit, dt.date(2026, 2, 1), "on_time", responsible=head_a)
    give(head_a.unit, dt.date(2026, 3, 2), "open", returns=1, responsible=official_a)  # 0.50 → 35 + 10 = 45
    GeneralScore.objects.create(plan=plan, period="2026-Q1", official=official_a, points=D(10), entered_by=leader.user)
    GeneralScore.objects.create(plan=plan, period="2026-Q1", official=head_a, points=D(30), entered_by=leader.user)

    result = official_kpi(plan, Q1, units=[head_a.unit])
    head, official = result.find(head_a), result.find(official_a)

    assert official.total == D("45.00") and official.rating == Rating.NOT_COMPLETE
    # (1 + .5) / 2 × 70 = 52.50, × 50% = 26.25; + 30 = 56.25.
    assert head.leader_factor == D("0.50")
    assert head.task_points == D("26.25")
    assert head.total == D("56.25") and head.rating == Rating.COMPLETE


def test_later_weights_do_not_change_an_earlier_recorded_ranking(plan, head_a, head_b, give, leader):
    give(head_a.unit, dt.date(2026, 3, 1), "on_time")
    late_b = give(head_b.unit, dt.date(2026, 3, 1), "late")
    give(head_a.unit, dt.date(2026, 5, 1), "late")
    v1 = ScoringScheme.objects.create(plan=plan, effective_from=dt.date(2026, 1, 1), name="v1")
    recorded = record_ranking(unit_kpi(plan, Q1), by=leader.user)
    before = [(r.subject_code, r.rank, r.total, r.rating) for r in recorded.rows.exclude(rank=None)]
    # Two rated good or better: no room for "excellent" under the 20% cap.
    assert before == [("10507", 1, D("100.00"), Rating.GOOD), ("10525", 2, D("82.50"), Rating.GOOD)]

    # From Q2 a delay costs half, and the task of B's late assignment weighs more.
    v2 = ScoringScheme.objects.create(plan=plan, effective_from=dt.date(2026, 4, 1), name="v2", delay_penalty=D("0.5"))
    TaskWeight.objects.create(scheme=v2, task=late_b.task, weight=D("5"))

    assert scheme_for(plan, Q1) == v1
    assert scheme_for(plan, Period.parse("2026-Q2")) == v2
    again = [(f.code, f.rank, f.total, f.rating) for f in unit_kpi(plan, Q1).rated()]
    assert again == before
    recorded.refresh_from_db()
    assert [(r.subject_code, r.rank, r.total, r.rating) for r in recorded.rows.exclude(rank=None)] == before
    assert unit_kpi(plan, Period.parse("2026-Q2")).find(head_a.unit).total == D("65.00")  # 30 + 70 × .5

    # The version behind a recorded ranking cannot be edited: add a new version instead.
    v1.delay_penalty = D("0.9")
    with pytest.raises(ValidationError):
        v1.save()


def test_periods_parse_months_quarters_years():
    assert (Period.parse("2026-03").start, Period.parse("2026-03").end) == (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert Period.parse("2026-q4").end == dt.date(2026, 12, 31)
    assert Period.parse("2026").label == "2026"
    for bad in ("2026-Q5", "2026-13", "26", "", None, "2026-Q1; drop"):
        with pytest.raises(ValueError, match="Kỳ đánh giá không hợp lệ"):
            Period.parse(bad)
