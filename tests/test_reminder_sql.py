"""The sweep's SQL against the policy's Python rules: for every day of a month that crosses a
weekend run and Tết-like overrides, the rows the sweep selects and records are exactly those that
`PolicyRules.stage_on` and `roles_for` give, one per person, with the same skip reasons. Runs on
PostgreSQL and SQLite alike."""

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tasks_app import events
from tasks_app.models import Assignment, Unit
from tasks_app.reminders.models import Delivery, DueDigest, HolidayOverride, OverdueNotice, ReminderPolicy
from tasks_app.reminders.policy import PolicyRules, WorkingCalendar, window_for
from tasks_app.reminders.sweep import plan_day, run_sweep
from tests.conftest import make_assignment, make_official
from tests.fixtures_reminders import expand_all

HCM = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
CHANNELS = ["email", "zalo", "zns", "feed"]
SKIP = {
    "email": "không có địa chỉ email / no email address",
    "zalo": "không có Zalo user id / no Zalo user id",
    "zns": "không có số điện thoại / no phone number",
}


def expected_rows(day):
    """The ledger rows of `day` by the Python rules, one per person with the first role."""
    policy = ReminderPolicy.default()
    rules = PolicyRules(policy)
    calendar = WorkingCalendar.load()
    if not calendar.is_working_day(day):
        return set()
    window = window_for(day, calendar)
    rows = set()
    for a in Assignment.objects.open().select_related("unit", "responsible__user", "authority__user"):
        stage = rules.stage_on(a.deadline, window)
        if stage is None:
            continue
        people = {"responsible": a.responsible, "head": a.unit.head, "authority": a.authority}
        seen = {}
        for role in rules.roles_for(stage):
            person = people[role]
            if person is not None and person.pk not in seen:
                seen[person.pk] = (role, person)
        for role, person in seen.values():
            address = {"email": person.user.email, "zalo": person.zalo_user_id, "zns": person.phone, "feed": "x"}
            for channel in policy.channels:
                skip = "" if address[channel] else SKIP[channel]
                rows.add((a.pk, stage.key, person.pk, role, channel, skip))
    return rows


@pytest.fixture
def varied(task, city, leader):
    """Assignments due over six weeks whose people overlap in every way the sweep must handle."""
    ReminderPolicy.objects.create(channels=CHANNELS)
    leader.phone = "0900000000"
    leader.save()
    for n in range(12):
        unit = Unit.objects.create(code=f"S{n:03d}", name=f"Xã {n}", kind=Unit.Kind.COMMUNE, parent=city)
        head = make_official(f"head-s{n}", unit, head=True)
        if n % 3 == 0:
            head.zalo_user_id = f"zalo-{n}"
            head.save()
        if n % 5 == 0:
            head.user.email = ""
            head.user.save()
        other = make_official(f"official-s{n}", unit)
        for k in range(4):
            deadline = dt.date(2026, 6, 10) + dt.timedelta(days=n * 3 + k * 7)
            a = make_assignment(task if k == 0 else make_task(task, n, k), unit, deadline=deadline)
            # Responsible: the head (one row for head + responsible), another official, or the
            # authority himself (one row for authority + responsible).
            a.responsible = [head, other, leader, other][k]
            if k == 3:
                a.authority = head  # the head as authority: one row when both roles are due
            a.save()
        if n % 4 == 3:  # the head left: the unit has none for now
            Unit.objects.filter(pk=unit.pk).update(head=None)


def make_task(task, n, k):
    from tasks_app.models import Task

    return Task.objects.create(
        group=task.group,
        code=f"2026-09-{n:02d}{k}",
        number=900 + n * 4 + k,
        title=f"Nhiệm vụ {n}/{k}",
        description="…",
        deliverable="Báo cáo",
        acceptance_criteria="Đạt",
        authority=task.authority,
    )


def test_sql_rows_equal_the_python_rules_every_day(varied):
    HolidayOverride.objects.create(date=dt.date(2026, 7, 14), is_working_day=False, name="Nghỉ thêm")
    HolidayOverride.objects.create(date=dt.date(2026, 7, 18), is_working_day=True, name="Làm bù")
    days = [dt.date(2026, 6, 15) + dt.timedelta(days=n) for n in range(60)]
    kinds = set()
    for day in days:
        got = {
            (p.assignment_id, p.stage.key, p.recipient_id, p.role, p.channel, p.skip_reason)
            for p in plan_day(day, force=True).rows()
        }
        assert got == expected_rows(day), day
        kinds |= {(key.split("-")[0], role, skip) for _, key, _, role, _, skip in got}
    # The fixture gives every kind of stage, role and skip reason.
    assert {k[0] for k in kinds} == {"before", "due", "overdue"}
    assert {k[1] for k in kinds} == {"responsible", "head", "authority"}
    assert {k[2] for k in kinds} == {"", *SKIP.values()}


def test_recorded_rows_equal_the_selection_and_count_from_the_insert(varied):
    day = dt.date(2026, 7, 6)  # a Monday: overdue stages of the weekend move here
    expected = expected_rows(day)
    with time_machine.travel(dt.datetime(2026, 7, 6, 9, 0, tzinfo=HCM), tick=False):
        rows, assignments = plan_day(day).counts()
        result = run_sweep()
    assert result.items == rows == len(expected) and assignments == len({r[0] for r in expected})
    # The sweep writes one digest per recipient and channel (issue 14), each standing for its rows;
    # a missing address is one skipped digest with the reason, not a skipped row per assignment.
    pairs: dict[tuple, list] = {}
    for row in expected:
        pairs.setdefault((row[2], row[4]), []).append(row)
    digests = {(g.recipient_id, g.channel): g for g in DueDigest.objects.all()}
    assert result.created == len(digests) == len(pairs) < len(expected)
    for pair, rows_of_pair in pairs.items():
        digest = digests[pair]
        reasons = {r[5] for r in rows_of_pair}
        assert len(reasons) == 1 and digest.items == len(rows_of_pair) and digest.day == day
        assert (digest.status, digest.skip_reason) == (("skipped", *reasons) if "" not in reasons else ("pending", ""))
    # Expanded by the senders: exactly the rows of the pending digests, in the ledger.
    written = expand_all()
    recorded = {
        (d.assignment_id, d.stage, d.recipient_id, d.recipient_role, d.channel, d.last_error)
        for d in Delivery.objects.all()
    }
    assert recorded == {r for r in expected if not r[5]} and written == len(recorded)
    statuses = {(d.status, bool(d.last_error)) for d in Delivery.objects.all()}
    assert statuses == {("pending", False)}
    assert set(DueDigest.objects.values_list("status", flat=True)) == {"expanded", "skipped"}
    for d in Delivery.objects.all():
        kind, days = d.stage.split("@")[0].split("-")
        assert d.day == day and d.offset_days == (-1 if kind == "before" else 1) * int(days)
        assert d.deadline.isoformat() == d.stage.split("@")[1]


def add_overdue(task, city, count, prefix, deadline=dt.date(2026, 6, 30)):
    for n in range(count):
        unit = Unit.objects.create(code=f"{prefix}{n:03d}", name=f"Xã {n}", kind=Unit.Kind.COMMUNE, parent=city)
        make_official(f"head-{prefix}{n}", unit, head=True)
        make_assignment(task, unit, deadline=deadline)


def overdue_sweep_queries():
    with CaptureQueriesContext(connection) as ctx:
        result = run_sweep(dt.date(2026, 7, 1), now=dt.datetime(2026, 7, 1, 8, 30, tzinfo=HCM), force=True)
    return result, [q["sql"] for q in ctx.captured_queries]


def test_overdue_events_are_batched_not_a_query_each(task, city, leader):
    """Newly overdue work: one INSERT … RETURNING, one load and one `events.send_many` per batch,
    however many there are, each assignment with its own overdue days."""
    seen = []

    def receiver(sender, assignments, event, each, **kwargs):
        seen.extend(
            (a.pk, event, a.task.code, events.data_for(a, kwargs["data"], each)["overdue_days"]) for a in assignments
        )

    events.assignments_event.connect(receiver)
    try:
        add_overdue(task, city, 3, "P")
        small, small_queries = overdue_sweep_queries()
        DueDigest.objects.all().delete()
        OverdueNotice.objects.all().delete()
        seen.clear()
        add_overdue(task, city, 30, "Q", deadline=dt.date(2026, 6, 24))
        large, large_queries = overdue_sweep_queries()
        again, _ = overdue_sweep_queries()
    finally:
        events.assignments_event.disconnect(receiver)
    assert (small.newly_overdue, large.newly_overdue, again.newly_overdue) == (3, 33, 0)
    assert len(large_queries) == len(small_queries)
    assert len(seen) == 33 == len(set(seen))
    # Each its own overdue days: 1 for the three due on 30 June, 7 for the thirty due on 24 June.
    assert sorted(s[3] for s in seen) == [1] * 3 + [7] * 30 and {s[1:3] for s in seen} == {(events.OVERDUE, task.code)}


def test_webhook_receivers_are_found_once_for_all_overdue_events(task, city, leader):
    """Issue 14: with webhooks subscribed, the sweep's query count is the same for 5 and for 50
    newly overdue assignments (the endpoints are looked up once for all events, not per event),
    and every event reaches every endpoint that sees it, with its own overdue days."""
    import json

    from tasks_app.api.models import ApiKey, WebhookDelivery, WebhookEndpoint

    portal, _secret = ApiKey.objects.create_key(name="Cổng thành phố", is_portal=True)
    for n in range(2):
        WebhookEndpoint.objects.create(api_key=portal, url=f"https://p{n}.example.org/h", events=[events.OVERDUE])
    # Subscribed to something else: gets nothing.
    WebhookEndpoint.objects.create(api_key=portal, url="https://other.example.org/h", events=[events.STATUS_CHANGED])

    add_overdue(task, city, 5, "F")
    five, five_queries = overdue_sweep_queries()
    assert five.newly_overdue == 5 and WebhookDelivery.objects.count() == 10
    DueDigest.objects.all().delete()
    OverdueNotice.objects.all().delete()
    WebhookDelivery.objects.all().delete()
    add_overdue(task, city, 45, "G", deadline=dt.date(2026, 6, 24))
    fifty, fifty_queries = overdue_sweep_queries()
    assert fifty.newly_overdue == 50
    lookups = [q for q in fifty_queries if "api_webhookendpoint" in q]
    assert len(lookups) == 1, lookups
    assert len(fifty_queries) == len(five_queries), (len(five_queries), len(fifty_queries))
    deliveries = list(WebhookDelivery.objects.all())
    assert len(deliveries) == 100 and {d.url for d in deliveries} == {
        "https://p0.example.org/h",
        "https://p1.example.org/h",
    }
    days = sorted(json.loads(d.body)["data"]["overdue_days"] for d in deliveries)
    assert days == [1] * 10 + [7] * 90
    assert {json.loads(d.body)["event"] for d in deliveries} == {events.OVERDUE}


def test_dry_run_streams_a_limited_listing(task, city, leader, capsys):
    for n in range(5):
        unit = Unit.objects.create(code=f"L{n:03d}", name=f"Xã {n}", kind=Unit.Kind.COMMUNE, parent=city)
        make_official(f"head-l{n}", unit, head=True)
        make_assignment(task, unit, deadline=dt.date(2026, 7, 8))
    call_command("reminders", "--dry-run", "--date", "2026-07-01", "--limit", "4")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "01/07/2026: 15 reminder(s) due for 5 assignment(s)"
    assert len(lines) == 9 and lines[-1] == "… 11 more (--limit 0 lists them all)"
    call_command("reminders", "--dry-run", "--date", "2026-07-01", "--limit", "0")
    assert len(capsys.readouterr().out.splitlines()) == 19
    with pytest.raises(CommandError, match="--limit -1"):
        call_command("reminders", "--dry-run", "--limit", "-1")
    assert Delivery.objects.count() == 0 and DueDigest.objects.count() == 0


def test_admin_preview_shows_the_count_and_the_first_rows(task, city, leader, admin_client):
    for n in range(3):
        unit = Unit.objects.create(code=f"A{n:03d}", name=f"Xã {n}", kind=Unit.Kind.COMMUNE, parent=city)
        make_official(f"head-a{n}", unit, head=True)
        make_assignment(task, unit, deadline=dt.date(2026, 7, 8))
    response = admin_client.get("/admin/reminders/delivery/preview/", {"date": "2026-07-01"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "01/07/2026: 9 lượt nhắc cho 3 phân công" in html and html.count("before-7@2026-07-08") == 9
    assert Delivery.objects.count() == 0
