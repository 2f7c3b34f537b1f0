"""The leader dashboard at national scale: the unit table a page at a time (sort and filters kept,
totals over every unit), and its aggregates cached behind the figures version that every write
moves, so a change shows on the very next page load."""

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tasks_app import actions, lifecycle
from tasks_app.models import Assignment, ExtensionRequest, Official, TaskGroup, Unit
from tasks_app.status import Status, Timeliness
from tests.conftest import make_assignment, make_official
from tests.fixtures_web import make_communes, make_many, sign_in

pytestmark = pytest.mark.django_db

URL = reverse("web:dashboard")


@pytest.fixture
def now(time_machine):
    time_machine.move_to(dt.datetime(2026, 6, 1, 3, 0, tzinfo=dt.UTC), tick=True)


def unit_row(client, code, **params):
    response = client.get(URL, {"q": code, **params})
    assert response.status_code == 200
    (row,) = response.context["unit_rows"]
    return row


def aggregate_queries(captured):
    return [q["sql"] for q in captured.captured_queries if "GROUP BY" in q["sql"]]


# --- a page at a time -----------------------------------------------------------------------


def test_the_unit_table_shows_a_page_of_units_and_the_totals_cover_every_unit(client, office, group, leader, city):
    from tasks_app.web.dashboard import UNITS_PER_PAGE as per_page

    units = make_communes(city, 25, start=70000)
    make_many(group, units, 1, authority=leader, code_prefix="G")
    pages = -(-25 // per_page)
    sign_in(client, office)
    first = client.get(URL, {"kind": "commune", "sort": "name"})
    assert first.context["unit_page"].paginator.count == 25
    assert len(first.context["unit_rows"]) == per_page
    last = client.get(URL, {"kind": "commune", "sort": "name", "page": pages})
    assert len(last.context["unit_rows"]) == 25 - per_page * (pages - 1)
    # The pages follow the chosen order without gaps or repeats.
    names = [
        r["unit"].name
        for page in range(1, pages + 1)
        for r in client.get(URL, {"kind": "commune", "sort": "name", "page": page}).context["unit_rows"]
    ]
    assert names == sorted(u.name for u in units)
    # Totals and charts count every unit's work, whichever page or filter the table shows.
    assert first.context["total"] == last.context["total"] == 25
    assert client.get(URL, {"q": units[0].code}).context["total"] == 25
    # The pager keeps the sort and the filters; the sort links start again at page 1.
    html = first.content.decode()
    assert 'href="?kind=commune&amp;sort=name&amp;page=2#units"' in html
    second = client.get(URL, {"kind": "commune", "sort": "name", "page": 2}).content.decode()
    assert 'href="?kind=commune&amp;sort=overdue#units"' in second
    assert f"Trang 2/{pages}" in second
    # A page number out of range shows the last page rather than an error.
    assert client.get(URL, {"kind": "commune", "page": 99}).context["unit_page"].number == pages


def test_every_number_on_a_page_links_to_the_assignments_behind_it(client, office, group, leader, city):
    units = make_communes(city, 60, start=71000)
    make_many(group, units, 2, authority=leader, code_prefix="L")
    sign_in(client, office)
    response = client.get(URL, {"sort": "code", "page": 2, "group": group.pk})
    rows = response.context["unit_rows"]
    assert rows, "page 2 has units"
    for row in rows[:3]:
        for column in ("assigned", "on_time", "late", "overdue", "open"):
            listed = client.get(row["links"][column]).context["page"].paginator.count
            assert listed == row[column], (row["code"], column)
        assert row["links"]["assigned"] in response.content.decode().replace("&amp;", "&")


def test_with_several_provinces_a_national_actor_picks_one(client, office, group, leader, city, department):
    other = Unit.objects.create(code="01", name="Thành phố Hà Nội", kind=Unit.Kind.CITY)
    ours = make_communes(city, 3, start=72000)
    theirs = make_communes(other, 4, start=73000)
    make_many(group, ours + theirs, 1, authority=leader, code_prefix="V")
    nation = Unit.objects.create(code="VN", name="Theo dõi toàn quốc", kind=Unit.Kind.NATION)
    sign_in(client, make_official("national-office", nation, role=Official.Role.NATIONAL))
    response = client.get(URL, {"parent": other.pk})
    assert sorted(r["unit"].code for r in response.context["unit_rows"]) == sorted(u.code for u in theirs)
    assert response.context["total"] == 4
    assert 'name="parent"' in response.content.decode()
    assert client.get(URL).context["total"] == 7
    assert client.get(URL, {"parent": "not-a-number"}).status_code == 200


def test_a_provincial_office_sees_its_own_province_whatever_it_asks(client, office, group, leader, city, department):
    other = Unit.objects.create(code="01", name="Thành phố Hà Nội", kind=Unit.Kind.CITY)
    ours = make_communes(city, 3, start=72000)
    theirs = make_communes(other, 4, start=73000)
    make_many(group, ours + theirs, 1, authority=leader, code_prefix="V")
    sign_in(client, office)
    response = client.get(URL, {"parent": other.pk})
    codes = {r["unit"].code for r in response.context["unit_rows"]}
    assert codes >= {u.code for u in ours} and not codes & {u.code for u in theirs}
    assert response.context["total"] == 3


def test_with_one_city_there_is_no_province_filter(client, office, assignment_a):
    response = sign_in(client, office).get(URL)
    assert "parent" not in response.context["form"].fields
    assert 'name="parent"' not in response.content.decode()


# --- the aggregates are cached, and never stale ------------------------------------------------


def test_a_second_load_reads_the_aggregates_from_the_cache(client, office, both_assignments):
    sign_in(client, office)
    with CaptureQueriesContext(connection) as cold:
        first = client.get(URL)
    with CaptureQueriesContext(connection) as warm:
        second = client.get(URL)
    # By unit, by group and by month from the maintained counts in one statement (tasks_app.counts),
    # and the month's field inspections by unit.
    assert len(aggregate_queries(cold)) == 2
    assert aggregate_queries(warm) == []
    assert len(warm) == len(cold) - 2
    assert second.context["total"] == first.context["total"] == 2
    # Each group filter has its own figures.
    other = TaskGroup.objects.create(plan=both_assignments[0].task.group.plan, number=2, title="Văn hóa")
    assert client.get(URL, {"group": other.pk}).context["total"] == 0


@pytest.fixture
def both_assignments(assignment_a, assignment_b):
    return assignment_a, assignment_b


def test_a_lifecycle_transition_is_on_the_next_load(client, office, official_a, leader, assignment_a, now):
    sign_in(client, office)
    assert unit_row(client, "10507")["on_time"] == 0
    lifecycle.report_progress(assignment_a, by=official_a.user, percent=50)
    assert unit_row(client, "10507")["open"] == 1
    lifecycle.submit(assignment_a, by=official_a.user)
    lifecycle.accept(assignment_a, by=leader.user)
    row = unit_row(client, "10507")
    assert (row["on_time"], row["open"]) == (1, 0)
    totals = {c["value"]: c["n"] for c in client.get(URL).context["classes"]}
    assert totals[Timeliness.COMPLETED_ON_TIME] == 1  # in the totals too


def test_a_fan_out_is_on_the_next_load(client, office, leader, task, commune_a, commune_b, head_a, head_b, now):
    sign_in(client, office)
    assert unit_row(client, "10507")["assigned"] == 0
    actions.fan_out(task, Unit.objects.filter(kind__in=Unit.COMMUNE_LEVEL), role="lead", by=leader.user, issue=True)
    assert unit_row(client, "10507")["assigned"] == 1
    assert client.get(URL).context["total"] == 2


def test_an_approved_extension_is_on_the_next_load(client, office, official_a, leader, task, head_a, time_machine):
    time_machine.move_to(dt.datetime(2026, 7, 5, 3, 0, tzinfo=dt.UTC), tick=True)
    assignment = make_assignment(task, head_a.unit)  # due 30/06/2026: overdue on 05/07
    sign_in(client, office)
    assert unit_row(client, "10507")["overdue"] == 1
    request = lifecycle.request_extension(
        assignment, by=official_a.user, requested_deadline=dt.date(2026, 8, 31), reason="Chờ vốn"
    )
    lifecycle.decide_extension(request, by=leader.user, approve=True)
    assert ExtensionRequest.objects.get().status == ExtensionRequest.Status.APPROVED
    assert unit_row(client, "10507")["overdue"] == 0


def test_a_deletion_is_on_the_next_load(client, office, both_assignments, now):
    sign_in(client, office)
    assert client.get(URL).context["total"] == 2
    assignment_a, assignment_b = both_assignments
    # Not the newest row: its id and timestamp leave max(id) and max(updated_at) as they were.
    assert assignment_a.pk < assignment_b.pk
    assignment_a.delete()
    assert client.get(URL).context["total"] == 1


def test_a_task_moved_to_another_group_is_on_the_next_load(client, office, group, task, assignment_a, now):
    other = TaskGroup.objects.create(plan=group.plan, number=2, title="Văn hóa - xã hội")
    sign_in(client, office)
    assert client.get(URL, {"group": other.pk}).context["total"] == 0
    assert [r["group"] for r in client.get(URL).context["group_rows"]] == [group]
    task.group = other
    task.save()
    assert client.get(URL, {"group": other.pk}).context["total"] == 1
    assert [r["group"] for r in client.get(URL).context["group_rows"]] == [other]


def test_the_next_day_brings_new_figures(client, office, assignment_a, time_machine):
    time_machine.move_to(dt.datetime(2026, 6, 30, 10, 0, tzinfo=dt.UTC))  # 30/06, 17:00 in Hải Phòng
    sign_in(client, office)
    assert unit_row(client, "10507")["overdue"] == 0
    time_machine.move_to(dt.datetime(2026, 6, 30, 17, 30, tzinfo=dt.UTC))  # 01/07, 00:30 local
    sign_in(client, office)  # seven idle hours ended the first session (the idle timeout)
    assert timezone.localdate(timezone=lifecycle.local_tz()) == dt.date(2026, 7, 1)
    assert unit_row(client, "10507")["overdue"] == 1


@pytest.mark.redis
def test_the_aggregates_cache_in_redis_and_stay_fresh(client, office, official_a, assignment_a, redis_url, settings):
    # A prefix of its own: this test never clears a Redis database another run may use.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": f"test-dashboard-{uuid.uuid4().hex}",
        }
    }
    sign_in(client, office)
    with CaptureQueriesContext(connection) as cold:
        assert unit_row(client, "10507")["open"] == 1
    with CaptureQueriesContext(connection) as warm:
        row = unit_row(client, "10507")
    assert len(aggregate_queries(cold)) == 2 and aggregate_queries(warm) == []
    assert row["assigned"] == 1
    lifecycle.cancel(assignment_a, by=assignment_a.authority.user, reason="Không còn phù hợp")
    assert Assignment.objects.get().status == Status.CANCELLED
    assert unit_row(client, "10507")["assigned"] == 0
