"""Atom and iCalendar feeds at secret-token URLs (parsed by feedparser and icalendar), the in-app
feed helpers, and GET /api/v1/reminders/ with its scoping and constant query count."""

import datetime as dt
import zoneinfo

import feedparser
import icalendar
import pytest
import time_machine

from tasks_app.reminders.feeds import feed_token, feed_urls
from tasks_app.reminders.models import Delivery, DueDigest
from tasks_app.reminders.sweep import run_sweep
from tests.conftest import make_assignment
from tests.fixtures_reminders import expand_all

HCM = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def swept(assignment_a, assignment_b, leader):
    with time_machine.travel(dt.datetime(2026, 6, 23, 8, 30, tzinfo=HCM), tick=False):
        run_sweep()
        expand_all()  # what each sender does first (issue 14)
    return Delivery.objects.all()


def path_of(url):
    return url.split("127.0.0.1:8000", 1)[1]


def test_atom_feed_parses_and_lists_own_deadlines(client, head_a, assignment_a, assignment_b):
    response = client.get(path_of(feed_urls(head_a.user)["atom"]))
    assert response.status_code == 200 and response["Content-Type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    assert [e.link for e in feed.entries] == [f"http://127.0.0.1:8000/assignments/{assignment_a.pk}/"]
    assert "30/06/2026" in feed.entries[0].title and "Phường Thành Đông" in feed.entries[0].title


def test_ics_feed_parses_with_all_day_deadline_events(client, head_a, assignment_a, assignment_b):
    response = client.get(path_of(feed_urls(head_a.user)["ics"]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.content)
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 1
    assert events[0]["UID"] == f"assignment-{assignment_a.pk}@127.0.0.1"
    assert events[0].decoded("DTSTART") == dt.date(2026, 6, 30)
    assert events[0].decoded("DTEND") == dt.date(2026, 7, 1)


def test_authority_calendar_holds_assignments_under_authority(client, leader, assignment_a, assignment_b):
    calendar = icalendar.Calendar.from_ical(client.get(path_of(feed_urls(leader.user)["ics"])).content)
    assert len(list(calendar.walk("VEVENT"))) == 2


def test_unknown_or_regenerated_token_is_404(client, head_a, assignment_a):
    old = feed_urls(head_a.user)
    assert client.get("/feeds/not-a-token/deadlines.atom").status_code == 404
    feed_token(head_a.user).regenerate()
    assert client.get(path_of(old["atom"])).status_code == 404
    assert client.get(path_of(old["ics"])).status_code == 404
    assert client.get(path_of(feed_urls(head_a.user)["ics"])).status_code == 200


def test_closed_assignments_leave_the_feeds(client, head_a, assignment_a, leader):
    assignment_a.cancel(by=leader, reason="Không còn phù hợp")
    feed = feedparser.parse(client.get(path_of(feed_urls(head_a.user)["atom"])).content)
    assert feed.entries == []


def test_api_reminders_are_the_callers_own(client, swept, head_a, head_b, assignment_a):
    client.force_login(head_a.user)
    response = client.get("/api/v1/reminders/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert {r["recipient"] for r in rows} == {head_a.pk}
    assert {r["assignment"] for r in rows} == {assignment_a.pk}
    # Issue 14: the missing Zalo id is one skipped digest of the day, not a skipped row per assignment.
    assert {r["channel"] for r in rows} == {"email", "feed"}
    zalo = DueDigest.objects.get(recipient=head_a, channel="zalo")
    assert (zalo.status, zalo.items) == ("skipped", 1) and "Zalo" in zalo.skip_reason
    assert rows[0]["stage"] == "before-7@2026-06-30" and rows[0]["task_code"] == "2026-01-01"


def test_api_reminders_city_office_sees_all_and_filters(client, swept, office):
    client.force_login(office.user)
    rows = client.get("/api/v1/reminders/", {"channel": "email"}).json()["results"]
    assert len(rows) == 2 and {r["status"] for r in rows} == {"pending"}
    # Skipped for no Zalo id: two digests (one per head), no per-assignment rows (issue 14).
    assert client.get("/api/v1/reminders/", {"channel": "zalo"}).json()["results"] == []
    assert DueDigest.objects.filter(channel="zalo", status="skipped").count() == 2
    assert client.get("/api/v1/reminders/", {"status": "dead"}).json()["results"] == []
    assert client.get("/api/v1/reminders/", {"status": "nonsense"}).status_code == 400


def test_api_reminders_need_login(client, swept):
    assert client.get("/api/v1/reminders/").status_code in (401, 403)


def test_api_reminders_query_count_is_constant(client, office, task, city, swept, django_assert_max_num_queries):
    from tasks_app.models import Unit
    from tests.conftest import make_official

    client.force_login(office.user)
    with django_assert_max_num_queries(12) as few:
        client.get("/api/v1/reminders/")
    for n in range(10):
        unit = Unit.objects.create(code=f"Q{n}", name=f"Xã {n}", kind=Unit.Kind.COMMUNE, parent=city)
        make_official(f"head-q{n}", unit, head=True)
        make_assignment(task, unit)
    with time_machine.travel(dt.datetime(2026, 6, 23, 9, 0, tzinfo=HCM), tick=False):
        run_sweep()
        expand_all()  # what each sender does first (issue 14)
    assert Delivery.objects.count() == 24  # 12 assignments × email, feed (zalo: skipped digests)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get("/api/v1/reminders/").json()["results"]) == 24
