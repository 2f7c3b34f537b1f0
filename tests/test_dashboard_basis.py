"""One basis for every figure, and said: the dashboard says which deadline it judges by and lets
the reader switch; on the original deadline it gives the Excel report's numbers exactly."""

import datetime as dt
import io

import openpyxl
import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from tasks_app.models import Assignment
from tasks_app.reports.summary import build_summary
from tasks_app.status import Status, Timeliness
from tests.fixtures_web import make_communes, make_many, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def extended_work(group, leader, city):
    units = make_communes(city, 9)
    make_many(group, units, 5, authority=leader)
    today = timezone.localdate()
    # Ten assignments whose original deadline has passed and whose extension has not: overdue on
    # the original deadline, on time on the current one.
    late = Assignment.objects.filter(status=Status.IN_PROGRESS).order_by("pk")[:10]
    Assignment.objects.filter(pk__in=[a.pk for a in late]).update(
        original_deadline=today - dt.timedelta(days=20), deadline=today + dt.timedelta(days=20)
    )
    cache.clear()
    return len(late)


def dashboard_classes(client, **params) -> dict[str, int]:
    response = client.get(reverse("web:dashboard"), params)
    assert response.status_code == 200
    return {c["value"]: c["n"] for c in response.context["classes"]}, response.content.decode()


def report_totals(client, plan) -> dict[str, int]:
    response = client.get(reverse("kpi:summary-export", args=["xlsx"]), {"plan": plan.pk})
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content))["Tổng hợp"]
    labels = {str(t.label): t.value for t in Timeliness}
    return {labels[row[0]]: row[1] for row in sheet.iter_rows(values_only=True) if row and row[0] in labels}


def test_on_the_original_deadline_the_dashboard_equals_the_report(client, office, plan, extended_work):
    sign_in(client, office)
    original, page = dashboard_classes(client, basis="original")
    assert 'data-basis="original"' in page and "thời hạn ban đầu" in page
    assert (
        original
        == report_totals(client, plan)
        == dict(build_summary(plan).counts)
        | {t.value: 0 for t in Timeliness if t.value not in build_summary(plan).counts}
    )

    current, page = dashboard_classes(client)
    assert 'data-basis="current"' in page and "Phân loại theo thời hạn hiện hành" in page
    assert "basis=original" in page  # the switch
    moved = extended_work
    assert current[Timeliness.OVERDUE] == original[Timeliness.OVERDUE] - moved
    assert sum(current.values()) == sum(original.values())


def test_the_report_and_kpi_pages_say_their_basis(client, office, plan, group):
    sign_in(client, office)
    assert "thời hạn ban đầu" in client.get(reverse("kpi:reports")).content.decode()
    assert "xét theo thời hạn ban đầu" in client.get(reverse("kpi:units")).content.decode()
