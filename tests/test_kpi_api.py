"""KPI and indicator API: figures, drill-down, scoping, general points, indicator actuals."""

import datetime as dt
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from tasks_app.kpi.models import GeneralScore
from tasks_app.models import Indicator, IndicatorActual
from tests.conftest import make_official

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _may(time_machine):
    time_machine.move_to(dt.datetime(2026, 5, 10, 9, 0, tzinfo=dt.UTC), tick=False)


@pytest.fixture
def api():
    return APIClient()


def as_(api, official):
    api.force_authenticate(official.user)
    return api


@pytest.fixture
def work(give, head_a, official_a, head_b):
    give(head_a.unit, dt.date(2026, 2, 1), "on_time", responsible=head_a)
    give(head_a.unit, dt.date(2026, 2, 2), "late", responsible=official_a)
    give(head_b.unit, dt.date(2026, 3, 1), "open", returns=1)


@pytest.fixture
def indicator(plan, department):
    return Indicator.objects.create(
        plan=plan,
        number=1,
        name="Tốc độ tăng trưởng GRDP",
        unit_of_measure="%",
        annual_target=Decimal("13"),
        responsible_unit=department,
    )


def test_leader_gets_the_ranking_of_communes(api, work, leader, plan):
    response = as_(api, leader).get("/api/v1/kpi/units/", {"period": "2026-Q1"})

    assert response.status_code == 200
    body = response.json()
    assert (body["period"], body["start"], body["end"], body["as_of"]) == (
        "2026-Q1",
        "2026-01-01",
        "2026-03-31",
        "2026-04-01",
    )
    assert body["scheme"]["delay_penalty"] == "0.250"
    a, b = body["results"]
    assert (a["code"], a["rank"], a["task_points"], a["total"], a["rating"]) == ("10507", 1, "61.25", "91.25", "good")
    assert a["capped"] is True and a["general_entered"] is False
    assert a["counts"]["completed_late"] == 1 and a["counts"]["completed_on_time"] == 1
    assert (b["code"], b["task_points"], b["rating"]) == ("10525", "35.00", "complete")
    assert a["drill_down"] == f"/api/v1/kpi/units/10507/?period=2026-Q1&plan={plan.pk}"


def test_drill_down_lists_the_assignments_behind_the_figure(api, work, leader):
    body = as_(api, leader).get("/api/v1/kpi/units/10507/", {"period": "2026-Q1"}).json()

    assert body["result"]["task_points"] == "61.25"
    assert [(a["timeliness"], a["points"], a["kept_points"]) for a in body["assignments"]] == [
        ("completed_on_time", "35.00", "35.00"),
        ("completed_late", "35.00", "26.25"),
    ]
    assert body["assignments"][0]["url"].startswith("/assignments/")


def test_commune_sees_only_its_own_figures(api, work, head_b):
    body = as_(api, head_b).get("/api/v1/kpi/units/", {"period": "2026-Q1"}).json()
    assert [r["code"] for r in body["results"]] == ["10525"]
    assert as_(api, head_b).get("/api/v1/kpi/units/10507/", {"period": "2026-Q1"}).status_code == 404


def test_officials_head_sees_the_unit_and_an_official_only_self(api, work, head_a, official_a):
    body = as_(api, head_a).get("/api/v1/kpi/officials/", {"period": "2026-Q1"}).json()
    by_name = {r["name"]: r for r in body["results"]}
    assert set(by_name) == {"Head A", "Official A"}
    assert by_name["Head A"]["is_head"] and by_name["Head A"]["leader_factor"] == "1.00"
    assert by_name["Official A"]["task_points"] == "52.50"

    body = as_(api, official_a).get("/api/v1/kpi/officials/", {"period": "2026-Q1"}).json()
    assert [r["name"] for r in body["results"]] == ["Official A"]
    assert as_(api, official_a).get(f"/api/v1/kpi/officials/{head_a.pk}/", {"period": "2026-Q1"}).status_code == 404
    detail = as_(api, official_a).get(f"/api/v1/kpi/officials/{official_a.pk}/", {"period": "2026-Q1"}).json()
    assert [a["timeliness"] for a in detail["assignments"]] == ["completed_late"]


@pytest.mark.parametrize("period", ["", "2026-Q5", "Q1-2026", "2026-00"])
def test_bad_period_is_a_400_naming_the_field(api, leader, plan, period):
    response = as_(api, leader).get("/api/v1/kpi/units/", {"period": period})
    assert response.status_code == 400
    assert "Kỳ đánh giá không hợp lệ" in str(response.json())


def test_bad_level_plan_and_missing_plan(api, leader, plan):
    assert as_(api, leader).get("/api/v1/kpi/units/", {"period": "2026", "level": "x"}).status_code == 400
    assert as_(api, leader).get("/api/v1/kpi/units/", {"period": "2026", "plan": "abc"}).status_code == 400
    assert as_(api, leader).get("/api/v1/kpi/units/", {"period": "2031"}).status_code == 404


def test_anonymous_is_refused(api, plan):
    assert api.get("/api/v1/kpi/units/", {"period": "2026"}).status_code in (401, 403)
    assert api.get("/api/v1/indicators/").status_code in (401, 403)


def test_general_points_entered_by_the_evaluator_with_who_and_when(api, work, leader, head_a, official_a, plan):
    response = as_(api, leader).post(
        "/api/v1/kpi/general-scores/", {"period": "2026-Q1", "unit": "10507", "points": "27.5", "note": "Tốt"}
    )
    assert response.status_code == 201
    score = GeneralScore.objects.get()
    assert (score.points, score.entered_by, score.period) == (Decimal("27.5"), leader.user, "2026-Q1")
    body = as_(api, leader).get("/api/v1/kpi/units/", {"period": "2026-Q1"}).json()
    assert body["results"][0]["total"] == "88.75" and body["results"][0]["general_entered"]

    again = as_(api, leader).post("/api/v1/kpi/general-scores/", {"period": "2026-Q1", "unit": "10507", "points": "26"})
    assert again.status_code == 200 and GeneralScore.objects.get().history.count() == 2

    ok = as_(api, head_a).post(
        "/api/v1/kpi/general-scores/", {"period": "2026-Q1", "official": official_a.pk, "points": 25}
    )
    assert ok.status_code == 201
    own = as_(api, official_a).post(
        "/api/v1/kpi/general-scores/", {"period": "2026-Q1", "official": official_a.pk, "points": 30}
    )
    assert own.status_code == 403
    unit = as_(api, head_a).post("/api/v1/kpi/general-scores/", {"period": "2026-Q1", "unit": "10507", "points": 30})
    assert unit.status_code == 403
    too_many = as_(api, leader).post(
        "/api/v1/kpi/general-scores/", {"period": "2026-Q1", "unit": "10507", "points": 31}
    )
    assert too_many.status_code == 400 and "points" in too_many.json()
    both = as_(api, leader).post(
        "/api/v1/kpi/general-scores/", {"period": "2026-Q1", "unit": "10507", "official": official_a.pk, "points": 1}
    )
    assert both.status_code == 400
    assert GeneralScore.objects.count() == 2

    listed = as_(api, head_a).get("/api/v1/kpi/general-scores/", {"period": "2026-Q1"}).json()["results"]
    assert {(r["unit"], r["official"], r["points"]) for r in listed} == {
        ("10507", None, "26.00"),
        (None, official_a.pk, "25.00"),
    }
    mine = as_(api, official_a).get("/api/v1/kpi/general-scores/", {"period": "2026-Q1"}).json()["results"]
    # An official sees their unit's entry and their own, not a colleague's.
    assert {(r["unit"], r["official"], r["entered_by"]) for r in mine} == {
        ("10507", None, "city-leader"),
        (None, official_a.pk, "head-a"),
    }


def test_indicators_list_with_target_and_actuals(api, indicator, leader, django_assert_max_num_queries):
    IndicatorActual.objects.create(indicator=indicator, quarter=1, value=Decimal("10.5"))
    IndicatorActual.objects.create(indicator=indicator, quarter=2, value=Decimal("11.7"))
    as_(api, leader)
    with django_assert_max_num_queries(6):
        body = api.get("/api/v1/indicators/").json()
    (item,) = body
    assert item["annual_target"] == "13.000" and item["responsible_unit"]["code"] == "SO-TC"
    assert [a["quarter"] for a in item["actuals"]] == [1, 2]
    assert item["latest"] == {"quarter": 2, "value": "11.700", "percent_of_target": "90.0"}


def test_responsible_unit_reports_actuals_with_history(api, indicator, dept_head, head_a, department):
    url = f"/api/v1/indicators/{indicator.pk}/actuals/"
    first = as_(api, dept_head).post(url, {"quarter": 1, "value": "10.2", "note": "Ước tính"})
    assert first.status_code == 201 and first.json()["reported_by"] == dept_head.full_name
    corrected = as_(api, dept_head).post(url, {"quarter": 1, "value": "10.4"})
    assert corrected.status_code == 200
    actual = IndicatorActual.objects.get()
    assert actual.value == Decimal("10.4") and actual.history.count() == 2

    colleague = make_official("dept-staff", department)
    assert as_(api, colleague).post(url, {"quarter": 2, "value": "11"}).status_code == 201
    assert as_(api, head_a).post(url, {"quarter": 2, "value": "99"}).status_code == 403
    assert as_(api, dept_head).post(url, {"quarter": 5, "value": "1"}).status_code == 400
    assert as_(api, dept_head).post(url, {"quarter": 3, "value": "abc"}).status_code == 400
    assert (
        as_(api, dept_head).post("/api/v1/indicators/999999/actuals/", {"quarter": 1, "value": "1"}).status_code == 404
    )
    assert IndicatorActual.objects.get(quarter=2).value == Decimal("11")
