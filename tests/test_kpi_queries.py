"""KPI of all 114 communes over a year costs a constant number of queries, not one per unit."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command

from tasks_app.actions import commune_units, fan_out
from tasks_app.kpi.models import GeneralScore, Level
from tasks_app.kpi.scoring import Period, official_kpi, unit_kpi
from tasks_app.models import Assignment
from tasks_app.status import Status
from tests.fixtures_kpi import at

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def year_of_work(plan, make_task, leader, time_machine):
    time_machine.move_to(dt.datetime(2027, 1, 15, 3, 0, tzinfo=dt.UTC), tick=False)
    call_command("load_haiphong", verbosity=0)
    for month in (3, 6, 9, 12):
        fan_out(make_task(dt.date(2026, month, 28)), commune_units(), role="lead", by=leader, issue=True)
    # A known spread: the first 30 communes finished everything on time, the next 30 late.
    codes = list(commune_units().order_by("code").values_list("code", flat=True))
    early = Assignment.objects.filter(unit__code__in=codes[:30])
    early.update(status=Status.ACCEPTED, submitted_at=at(dt.date(2026, 3, 1)), completed_at=at(dt.date(2026, 3, 1)))
    late = Assignment.objects.filter(unit__code__in=codes[30:60])
    late.update(status=Status.ACCEPTED, submitted_at=at(dt.date(2027, 1, 5)), completed_at=at(dt.date(2027, 1, 5)))
    GeneralScore.objects.create(plan=plan, period="2026", unit=commune_units().get(code=codes[0]), points=25)
    return codes


def test_kpi_of_114_communes_over_a_year_is_one_aggregate_query(year_of_work, plan, django_assert_num_queries):
    # The scheme, the units (with their general points), one aggregate over every assignment.
    with django_assert_num_queries(3):
        result = unit_kpi(plan, Period.parse("2026"), Level.COMMUNES)

    assert len(result.figures) == 114
    assert all(f.assignments == 4 for f in result.figures)
    by_code = {f.code: f for f in result.figures}
    first, on_time, late, overdue = (by_code[year_of_work[i]] for i in (0, 1, 30, 60))
    assert (first.total, on_time.total, late.total, overdue.total) == (
        Decimal("95.00"),
        Decimal("100.00"),
        Decimal("82.50"),
        Decimal("82.50"),
    )
    assert overdue.counts["in_progress_overdue"] == 4 and late.counts["completed_late"] == 4


def test_kpi_of_every_official_is_constant_queries(year_of_work, plan, django_assert_num_queries):
    # The scheme, the officials (with their general points), one aggregate per official, one per unit.
    with django_assert_num_queries(4):
        result = official_kpi(plan, Period.parse("2026"))

    heads = [f for f in result.figures if f.subject.unit.kind in ("ward", "commune", "special_zone")]
    assert len(heads) == 114
    assert all(f.leader_factor == 1 for f in heads)
