"""The sweep: set-based, idempotent when run twice or concurrently, OVERDUE sent once, the
operator's command, and a constant number of queries whatever the number of assignments. Since
issue 14 the sweep writes one digest per recipient, channel and day, and the senders expand them
into the per-assignment ledger (`expand_all` below is what each sender does first)."""

import datetime as dt
import threading
import zoneinfo

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection

from tasks_app import events
from tasks_app.models import Unit
from tasks_app.reminders.models import Delivery, DueDigest, OverdueNotice
from tasks_app.reminders.sweep import run_sweep
from tests.conftest import make_assignment, make_official
from tests.fixtures_reminders import expand_all

HCM = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def clock():
    with time_machine.travel(dt.datetime(2026, 7, 1, 8, 30, tzinfo=HCM), tick=False) as traveller:
        yield traveller


def many_assignments(task, city, count):
    units = []
    for n in range(count):
        unit = Unit.objects.create(code=f"U{n:04d}", name=f"Xã {n}", kind=Unit.Kind.COMMUNE, parent=city)
        make_official(f"head-u{n}", unit, head=True)
        units.append(unit)
    # Due in 7 days, today, and overdue by 1 and by 7 days: every kind of stage.
    deadlines = [dt.date(2026, 7, 8), dt.date(2026, 7, 1), dt.date(2026, 6, 30), dt.date(2026, 6, 24)]
    return [make_assignment(task, u, deadline=deadlines[i % 4]) for i, u in enumerate(units)]


@pytest.fixture
def overdue_events():
    seen = []

    def receiver(sender, assignments, event, **kwargs):
        if event == events.OVERDUE:
            seen.extend(a.pk for a in assignments)

    # The sweep sends its OVERDUE events a batch at a time (events.send_many).
    events.assignments_event.connect(receiver)
    yield seen
    events.assignments_event.disconnect(receiver)


def test_sweep_twice_creates_nothing_twice(task, city, leader, clock, overdue_events):
    many_assignments(task, city, 8)
    first = run_sweep()
    assert first.created == DueDigest.objects.count() > 0 and not Delivery.objects.exists()
    written = expand_all()
    # Every item of the pending digests is in the ledger; the skipped digests' items (no Zalo id) are not.
    skipped = sum(DueDigest.objects.filter(status="skipped").values_list("items", flat=True))
    assert written == Delivery.objects.count() == first.items - skipped > 0
    assert first.newly_overdue == 4 and sorted(overdue_events) == sorted(
        OverdueNotice.objects.values_list("assignment_id", flat=True)
    )
    second = run_sweep()
    assert second.created == 0 and second.newly_overdue == 0
    assert expand_all() == 0
    assert Delivery.objects.count() == written and len(overdue_events) == 4
    # Overdue by 7 days: responsible (= head here, one row per person) and the authority.
    roles = set(Delivery.objects.filter(offset_days=7).values_list("recipient_role", flat=True))
    assert roles == {"responsible", "authority"}


def test_sweep_query_count_does_not_grow(task, city, leader, clock):
    from django.test.utils import CaptureQueriesContext

    def selects_and_updates():
        # INSERTs come in batches (2,000 rows; fewer on SQLite's variable limit); all else is constant.
        with CaptureQueriesContext(connection) as ctx:
            run_sweep()
        return [q["sql"] for q in ctx.captured_queries if not q["sql"].startswith("INSERT")]

    many_assignments(task, city, 4)
    small = selects_and_updates()
    DueDigest.objects.all().delete()
    OverdueNotice.objects.all().delete()
    for n in range(40):
        unit = Unit.objects.create(code=f"V{n:04d}", name=f"Phường {n}", kind=Unit.Kind.WARD, parent=city)
        make_official(f"head-v{n}", unit, head=True)
        make_assignment(task, unit, deadline=dt.date(2026, 7, 8))
    # (Not overdue: the OVERDUE event's receivers, e.g. webhooks, have query costs of their own.)
    large = selects_and_updates()
    assert len(large) == len(small) <= 14
    expand_all()
    assert Delivery.objects.filter(offset_days=-7).count() == 41 * 2  # email, feed (zalo: skipped digests)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_create_each_row_once(task, city, leader, overdue_events):
    many_assignments(task, city, 12)
    results, errors = [], []
    barrier = threading.Barrier(3)

    def worker():
        try:
            barrier.wait()
            with time_machine.travel(dt.datetime(2026, 7, 1, 8, 30, tzinfo=HCM), tick=False):
                results.append(run_sweep())
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    total = DueDigest.objects.count()
    assert sum(r.created for r in results) == total > 0
    assert sorted(r.created for r in results)[:2] == [0, 0]
    assert len(overdue_events) == 6 == len(set(overdue_events))
    assert expand_all() == Delivery.objects.count() > 0
    keys = list(Delivery.objects.values_list("assignment_id", "stage", "recipient_id", "channel"))
    assert len(keys) == len(set(keys))


def test_dry_run_lists_without_recording(task, city, leader, clock, capsys):
    many_assignments(task, city, 4)
    call_command("reminders", "--dry-run", "--date", "2026-07-01")
    out = capsys.readouterr().out
    assert "overdue-1@2026-06-30" in out and "before-7@2026-07-08" in out and "SKIPPED" in out
    assert Delivery.objects.count() == 0


def test_run_catches_up_a_missed_day_once(task, city, leader, clock, capsys):
    from django.core import mail

    many_assignments(task, city, 4)
    call_command("reminders", "--run", "--date", "2026-06-30")
    first = len(mail.outbox)
    assert first > 0 and Delivery.objects.filter(day=dt.date(2026, 6, 30), status="sent").exists()
    call_command("reminders", "--run", "--date", "2026-06-30")
    assert len(mail.outbox) == first
    assert "sent 0 reminder(s)" in capsys.readouterr().out.splitlines()[-1]


def test_bad_command_input_is_refused(db, clock):
    with pytest.raises(CommandError, match="not a date"):
        call_command("reminders", "--dry-run", "--date", "30/06/2026")
    with pytest.raises(CommandError, match="future day"):
        call_command("reminders", "--run", "--date", "2026-12-01")
    assert Delivery.objects.count() == 0


def test_run_keeps_quiet_hours_unless_forced(task, city, leader, capsys):
    from django.core import mail

    with time_machine.travel(dt.datetime(2026, 7, 1, 2, 0, tzinfo=HCM), tick=False):
        many_assignments(task, city, 4)
        call_command("reminders", "--run")
        out = capsys.readouterr().out
        assert "quiet hours" in out and "--force" in out
        assert len(mail.outbox) == 0 and not Delivery.objects.filter(status="sent").exists()
        assert Delivery.objects.filter(status="pending").exists()  # recorded, held for the morning
        call_command("reminders", "--run", "--force")
        assert len(mail.outbox) > 0 and Delivery.objects.filter(status="sent").exists()


def test_force_goes_with_run_only(db, clock):
    with pytest.raises(CommandError, match="--force"):
        call_command("reminders", "--dry-run", "--force")


def test_dry_run_reads_the_ledger(task, city, leader, clock, capsys, smtp_server):
    from tasks_app.reminders.sender import deliver

    many_assignments(task, city, 4)
    call_command("reminders", "--dry-run")
    before = capsys.readouterr().out
    due = int(before.split(": ", 1)[1].split(" ")[0])
    assert f"not yet in the ledger: {due};" in before and "0 sent" in before
    run_sweep()
    expand_all()
    pairs = set(Delivery.objects.filter(channel="email", status="pending").values_list("recipient_id", "channel"))
    first = sorted(pairs)[0]
    for pair in sorted(pairs)[1:]:
        deliver(*pair)
    Delivery.objects.filter(recipient_id=first[0], channel="email").update(
        status="dead", attempts=6, last_error="SMTP: 451"
    )
    call_command("reminders", "--dry-run")
    out = capsys.readouterr().out
    sent = Delivery.objects.filter(status="sent").count()
    dead = Delivery.objects.filter(status="dead").count()
    pending = Delivery.objects.filter(status="pending").count()
    assert f"ledger: {sent} sent, {pending} pending" in out and f"{dead} dead" in out
    assert "not yet in the ledger: 0;" in out
    assert "DEAD (attempts 6) — SMTP: 451" in out  # dead rows are shown, with their error
    assert "NEW" not in out and " SENT " not in out  # what was sent is not listed as due
    assert f"a --run now would send {pending} recorded row(s)" in out


@pytest.mark.postgres
def test_deleting_work_or_an_official_takes_its_ledger_rows_by_any_path(task, city, leader, clock):
    """The ledger has no foreign-key checks in the database (issue 14: they cost as much as the
    sweep's inserts); deleting assignments or officials still takes their rows with them, through
    the ORM and through raw SQL (a statement trigger)."""
    from tasks_app.models import Assignment, Official

    made = many_assignments(task, city, 8)
    run_sweep()
    expand_all()
    by_assignment = {a.pk: Delivery.objects.filter(assignment=a).count() for a in made}
    assert all(by_assignment.values())
    made[0].reminders.all()  # the relation still works both ways
    Assignment.objects.filter(pk=made[0].pk).delete()  # the ORM's cascade
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM reminders_overduenotice WHERE assignment_id = %s", [made[1].pk])
        cursor.execute("DELETE FROM reminders_feeditem WHERE assignment_id = %s", [made[1].pk])
        cursor.execute("DELETE FROM tasks_app_assignment WHERE id = %s", [made[1].pk])
    left = set(Delivery.objects.values_list("assignment_id", flat=True))
    assert made[0].pk not in left and made[1].pk not in left
    assert (
        Delivery.objects.count() == sum(by_assignment.values()) - by_assignment[made[0].pk] - by_assignment[made[1].pk]
    )
    head = Official.objects.get(user__username="head-u2")
    assert Delivery.objects.filter(recipient=head).exists() and DueDigest.objects.filter(recipient=head).exists()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE tasks_app_unit SET head_id = NULL WHERE head_id = %s", [head.pk])
        cursor.execute(
            "UPDATE tasks_app_assignment SET responsible_id = NULL, status = 'draft' WHERE responsible_id = %s",
            [head.pk],
        )
        cursor.execute("DELETE FROM reminders_feeditem WHERE official_id = %s", [head.pk])
        cursor.execute("DELETE FROM tasks_app_official WHERE id = %s", [head.pk])
    assert not Delivery.objects.filter(recipient_id=head.pk).exists()
    assert not DueDigest.objects.filter(recipient_id=head.pk).exists()
