"""Every page costs the same number of queries at 10 and at 500 rows; the dashboard at full scale."""

import datetime as dt
import statistics
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tasks_app.models import Assignment, Evidence, ExtensionRequest, Inspection, ProgressReport
from tasks_app.status import Status
from tests.fixtures_web import make_communes, make_many, sign_in

pytestmark = pytest.mark.django_db


def queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


def test_my_work_and_the_list_cost_the_same_at_10_and_500(client, official_a, group, leader, commune_a,
                                                        django_assert_num_queries):  # fmt: skip
    make_many(group, [commune_a], 10, authority=leader, code_prefix="A")
    sign_in(client, official_a)
    urls = [reverse("web:home"), reverse("web:assignments"), reverse("web:home") + "?status=open&q=Nhi&page=2"]
    at_10 = [queries(client, url) for url in urls]
    make_many(group, [commune_a], 490, authority=leader, code_prefix="B")
    assert Assignment.objects.filter(unit=commune_a).count() == 500
    for url, expected in zip(urls, at_10, strict=True):
        with django_assert_num_queries(expected):
            client.get(url)


def test_task_page_costs_the_same_for_10_and_500_units(client, office, group, leader, city,
                                                       django_assert_num_queries):  # fmt: skip
    few = make_communes(city, 10, start=30000)
    task = make_many(group, few, 1, authority=leader, code_prefix="T")[0]
    sign_in(client, office)
    url = reverse("web:task", args=[task.code])
    at_10 = queries(client, url)
    many = make_communes(city, 490, start=40000)
    Assignment.objects.bulk_create(
        Assignment(
            task=task, unit=u, role=Assignment.Role.LEAD, responsible_id=u.head_id, deadline=task.default_deadline,
            authority=leader, status=Status.ISSUED,
        )
        for u in many
    )  # fmt: skip
    with django_assert_num_queries(at_10):
        response = client.get(url)
    assert response.context["page"].paginator.count == 500  # shown a page at a time


def test_dashboard_costs_the_same_at_10_and_500(
    client, office, group, leader, city, django_assert_num_queries, fresh_cache
):
    units = make_communes(city, 10, start=50000)
    make_many(group, units, 1, authority=leader, code_prefix="D")
    sign_in(client, office)
    url = reverse("web:dashboard")
    fresh_cache()
    at_10 = queries(client, url)  # the aggregates computed
    cached_10 = queries(client, url)  # the aggregates from the cache: two statements fewer
    # The figures by unit, group and month from the maintained counts in one statement
    # (tasks_app.counts), and this month's inspections.
    assert cached_10 == at_10 - 2
    make_many(group, units, 49, authority=leader, code_prefix="E")
    assert Assignment.objects.count() == 500
    with django_assert_num_queries(at_10):  # the new rows moved the figures version
        client.get(url)
    with django_assert_num_queries(cached_10):
        client.get(url)
    with django_assert_num_queries(at_10):
        client.get(url + "?kind=commune&sort=rate&page=2&group=" + str(group.pk))


def test_assignment_page_costs_the_same_with_10_and_500_reports(client, official_a, leader, assignment_a,
                                                               django_assert_num_queries):  # fmt: skip
    def add(n):
        reports = ProgressReport.objects.bulk_create(
            ProgressReport(assignment=assignment_a, author=official_a, author_label="A", status=Status.IN_PROGRESS,
                           percent=i % 100, note=f"Báo cáo {i}")
            for i in range(n)
        )  # fmt: skip
        Evidence.objects.bulk_create(Evidence(report=r, url=f"https://example.org/{r.pk}") for r in reports)
        Inspection.objects.bulk_create(
            Inspection(assignment=assignment_a, date=dt.date(2026, 5, 1), inspector=leader, findings="Đạt")
            for _ in range(n // 10)
        )

    add(10)
    ExtensionRequest.objects.create(
        assignment=assignment_a, requested_by=official_a, current_deadline=assignment_a.deadline,
        requested_deadline=assignment_a.deadline + dt.timedelta(days=30), reason="Cần thêm thời gian",
    )  # fmt: skip
    sign_in(client, official_a)
    url = reverse("web:assignment", args=[assignment_a.pk])
    at_10 = queries(client, url)
    add(490)
    with django_assert_num_queries(at_10):
        response = client.get(url)
    assert len(response.context["timeline"]) == 500 + 50 + 1


def test_notifications_page_costs_the_same_with_10_and_500_reminders(client, official_a, group, leader, commune_a,
                                                                      django_assert_num_queries):  # fmt: skip
    from tasks_app.reminders import feeds
    from tasks_app.reminders.models import FeedItem

    def remind(prefix, n):
        make_many(group, [commune_a], n, authority=leader, code_prefix=prefix)
        FeedItem.objects.bulk_create(
            # The ledger's sign: before the deadline is negative (3 days before: -3), as the sweep stores it.
            FeedItem(official=official_a, assignment=a, stage="before-3", offset_days=-3,
                     deadline=timezone.localdate() + dt.timedelta(days=3), recipient_role="responsible")
            for a in Assignment.objects.filter(task__code__startswith=prefix)
        )  # fmt: skip

    remind("N", 10)
    feeds.feed_token(official_a.user)  # the calendar token exists once the user has one
    sign_in(client, official_a)
    url = reverse("web:notifications")
    at_10 = queries(client, url)
    remind("M", 490)
    with django_assert_num_queries(at_10):
        response = client.get(url)
    assert response.context["page"].paginator.count == 500
    assert "Còn 3 ngày" in response.content.decode()  # each reminder was sent 3 days before its deadline


@pytest.mark.postgres
def test_dashboard_with_114_communes_and_82_tasks_renders_well_under_a_second(
    client, office, group, leader, city, fresh_cache
):
    units = make_communes(city, 114, start=60000)
    make_many(group, units, 82, authority=leader, code_prefix="P")
    assert Assignment.objects.count() == 114 * 82
    sign_in(client, office)
    url = reverse("web:dashboard")
    client.get(url)  # warm: templates compiled, connection open
    timings, cached = [], []
    for _ in range(5):
        # Cold: the aggregates computed, as on the first load after any change.
        fresh_cache()
        started = time.perf_counter()
        response = client.get(url)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200
        started = time.perf_counter()
        assert client.get(url).status_code == 200
        cached.append(time.perf_counter() - started)
    assert response.context["unit_page"].paginator.count >= 114
    from tasks_app.web.dashboard import UNITS_PER_PAGE

    assert len(response.context["unit_rows"]) == UNITS_PER_PAGE  # a page of the table
    median = statistics.median(timings)
    report = (
        f"dashboard, {114 * 82} assignments (114 communes x 82 tasks), {connection.vendor}: "
        f"median {median * 1000:.0f} ms, max {max(timings) * 1000:.0f} ms over {len(timings)} requests "
        f"with the aggregates computed; {statistics.median(cached) * 1000:.0f} ms from the cache "
        f"({timezone.now():%Y-%m-%d})"
    )
    artifacts = Path(settings.BASE_DIR) / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "dashboard-timing.txt").write_text(report + "\n", encoding="utf-8")
    print(report)
    assert median < 1.0, report
