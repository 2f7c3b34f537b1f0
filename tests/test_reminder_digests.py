"""Issue 14: the sweep records one digest per recipient, channel and day (`DueDigest`), not one
ledger row per assignment, and each sender expands its recipient's digests into the per-assignment
ledger before claiming. What must hold: the sweep's write is bounded by recipients × channels; the
expansion writes each item once, even with two senders at once; nothing is sent twice across sweep
re-runs and after expansion; a re-run finds new work of an expanded digest; a channel without an
address is one skipped digest per recipient and day. Runs on PostgreSQL and SQLite alike, except
the race (PostgreSQL's row locks)."""

import datetime as dt
import threading
import zoneinfo

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tasks_app.models import Unit
from tasks_app.reminders.models import Delivery, DueDigest
from tasks_app.reminders.sender import deliver, due_pairs
from tasks_app.reminders.sweep import expand, plan_day, run_sweep
from tests.conftest import make_assignment, make_official
from tests.fixtures_reminders import expand_all
from tests.test_province_wall import provinces  # noqa: F401 (a fixture: two provinces loaded)

HCM = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
DEADLINE = dt.date(2026, 7, 8)  # 7 days after the clock's day: the "before-7" stage, to the responsible only


@pytest.fixture
def clock():
    with time_machine.travel(dt.datetime(2026, 7, 1, 8, 30, tzinfo=HCM), tick=False) as traveller:
        yield traveller


def official_with(task, city, count, name):
    """An official responsible for `count` assignments (head of `count` communes), with an e-mail
    address and no Zalo id (the default policy's channels: email, zalo, feed)."""
    official = make_official(name, city)
    add_work(task, city, official, count, name)
    return official


def add_work(task, city, official, count, prefix, deadline=DEADLINE):
    for n in range(count):
        unit = Unit.objects.create(
            code=f"{prefix}{n:03d}", name=f"Xã {prefix} {n}", kind=Unit.Kind.COMMUNE, parent=city, head=official
        )
        make_assignment(task, unit, deadline=deadline)


def digests_of(official):
    return {g.channel: (g.status, g.items) for g in DueDigest.objects.filter(recipient=official)}


def test_the_sweep_writes_per_recipient_and_channel_not_per_assignment(task, city, leader, clock):
    """Reproduces the issue: the sweep's rows are bounded by recipients × channels. 5 and 50
    assignments of one official each make three digests (one per channel), in one INSERT."""
    five = official_with(task, city, 5, "five")
    fifty = official_with(task, city, 50, "fifty")
    with CaptureQueriesContext(connection) as ctx:
        result = run_sweep()
    assert result.created == 6 and result.items == 55 * 3
    assert DueDigest.objects.count() == 6 and not Delivery.objects.exists()
    assert digests_of(five) == {"email": ("pending", 5), "zalo": ("skipped", 5), "feed": ("pending", 5)}
    assert digests_of(fifty) == {"email": ("pending", 50), "zalo": ("skipped", 50), "feed": ("pending", 50)}
    inserts = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("INSERT INTO")]
    assert len([q for q in inserts if "reminders_duedigest" in q.split("(", 1)[0]]) == 1
    assert not [q for q in inserts if "reminders_delivery" in q.split("(", 1)[0]]
    # Expanded, the ledger has exactly the per-assignment rows the plan gives (not the skipped channel).
    planned = {(p.assignment_id, p.stage.key, p.recipient_id, p.channel) for p in plan_day(dt.date(2026, 7, 1)).rows()}
    assert expand_all() == 110
    recorded = set(Delivery.objects.values_list("assignment_id", "stage", "recipient_id", "channel"))
    assert recorded == {row for row in planned if row[3] != "zalo"}


def test_a_skipped_channel_is_one_row_per_recipient_and_day(task, city, leader, clock):
    official = official_with(task, city, 20, "nozalo")
    run_sweep()
    run_sweep()
    expand_all()
    [zalo] = DueDigest.objects.filter(recipient=official, channel="zalo")
    assert (zalo.status, zalo.items, zalo.day) == ("skipped", 20, dt.date(2026, 7, 1))
    assert "Zalo" in zalo.skip_reason
    assert not Delivery.objects.filter(channel="zalo").exists()
    assert Delivery.objects.filter(recipient=official).count() == 40  # email and feed


def test_the_dispatcher_and_the_sweep_see_pending_digests(task, city, leader, clock):
    official = official_with(task, city, 3, "dispatch")
    queued = []
    result = run_sweep(enqueue=lambda recipient_id, channel: queued.append((recipient_id, channel)))
    # The sweep's enqueue after commit and the dispatcher's safety net: the pending digests, not the skipped one.
    expected = [(official.pk, "email"), (official.pk, "feed")]
    assert result.enqueued == 2 and due_pairs() == expected
    expand(official.pk, "email")
    assert due_pairs() == expected  # the e-mail rows are in the ledger now, pending; the feed digest still is
    deliver(official.pk, "email")
    deliver(official.pk, "feed")
    assert due_pairs() == []


def test_nothing_is_sent_twice_across_sweep_runs_and_expansions(task, city, leader, clock):
    official = official_with(task, city, 5, "twice")
    run_sweep()
    for pair in due_pairs():
        deliver(*pair)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [official.user.email]
    sent = set(Delivery.objects.filter(status="sent").values_list("pk", flat=True))
    assert len(sent) == 10 == Delivery.objects.count()
    second = run_sweep()
    assert (second.created, second.items) == (0, 0)
    assert expand(official.pk, "email") == 0 and due_pairs() == []
    for channel in ("email", "feed"):
        assert deliver(official.pk, channel).sent == 0
    assert len(mail.outbox) == 1 and Delivery.objects.count() == 10


def test_a_rerun_reopens_an_expanded_digest_for_new_work_only(task, city, leader, clock):
    official = official_with(task, city, 5, "reopen")
    run_sweep()
    for pair in due_pairs():
        deliver(*pair)
    assert len(mail.outbox) == 1 and "Xã reopen 0" in mail.outbox[0].body
    add_work(task, city, official, 1, "later")  # given during the day, due in 7 days
    again = run_sweep()
    # The e-mail and feed digests are reopened with the one new item; the skipped one stays as it was.
    assert (again.created, again.items) == (2, 12)
    assert digests_of(official) == {"email": ("pending", 6), "zalo": ("skipped", 5), "feed": ("pending", 6)}
    for pair in due_pairs():
        deliver(*pair)
    assert len(mail.outbox) == 2
    assert "Xã later 0" in mail.outbox[1].body
    assert "Xã reopen 0" not in mail.outbox[1].body  # what was sent is not sent again
    assert Delivery.objects.filter(status="sent").count() == Delivery.objects.count() == 12


def test_an_extension_starts_a_fresh_schedule_through_the_digests(task, city, leader, clock):
    """The stage carries its deadline: after an extension the sweep's next day plans the new
    deadline's stage, and its digest expands into new rows beside the old deadline's."""
    official = official_with(task, city, 1, "ext")
    run_sweep()
    expand_all()
    assert set(Delivery.objects.filter(channel="email").values_list("stage", flat=True)) == {"before-7@2026-07-08"}
    from tasks_app.models import Assignment

    Assignment.objects.filter(responsible=official).update(deadline=dt.date(2026, 7, 9))
    with time_machine.travel(dt.datetime(2026, 7, 2, 8, 30, tzinfo=HCM), tick=False):
        run_sweep()
        expand_all()
    stages = set(Delivery.objects.filter(channel="email").values_list("stage", flat=True))
    assert stages == {"before-7@2026-07-08", "before-7@2026-07-09"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_senders_expanding_one_digest_write_it_once(task, city, leader):
    official = official_with(task, city, 30, "race")
    with time_machine.travel(dt.datetime(2026, 7, 1, 8, 30, tzinfo=HCM), tick=False):
        run_sweep()
    results, errors = [], []
    barrier = threading.Barrier(4)

    def sender():
        try:
            barrier.wait()
            results.append(expand(official.pk, "email"))
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(results) == [0, 0, 0, 30]
    keys = list(Delivery.objects.values_list("assignment_id", "stage", "recipient_id", "channel"))
    assert len(keys) == 30 == len(set(keys))
    assert digests_of(official)["email"] == ("expanded", 30)


@pytest.mark.django_db
def test_the_digest_admin_is_read_only_and_walled_by_province(provinces):  # noqa: F811
    """The digests in the admin (Bản tổng hợp nhắc việc trong ngày): a province's staff see the
    digests of their own province's officials only, and nobody adds or changes one there."""
    from django.contrib.auth.models import Permission
    from rest_framework.test import APIClient

    from tasks_app.models import Official
    from tests.fixtures_web import sign_in

    day = dt.date(2026, 7, 1)
    digests = {
        code: DueDigest.objects.create(
            recipient=Official.objects.get(pk=p.commune.head_id),
            channel="zalo",
            day=day,
            status=DueDigest.Status.SKIPPED,
            items=4,
            skip_reason="không có Zalo user id / no Zalo user id",
        )
        for code, p in provinces.items()
    }
    office = Official.objects.get(user__username="office-01")
    office.user.is_staff = True
    office.user.save()
    office.user.user_permissions.set(Permission.objects.filter(content_type__app_label="reminders"))
    client = sign_in(APIClient(), office, verified=True)
    listing = client.get("/admin/reminders/duedigest/")
    assert listing.status_code == 200
    assert {g.pk for g in listing.context["cl"].result_list} == {digests["01"].pk}
    assert "Bỏ qua (không có địa chỉ)" in listing.content.decode()
    theirs = client.get(f"/admin/reminders/duedigest/{digests['31'].pk}/change/")
    assert theirs.status_code == 302 and theirs["Location"] == "/admin/"
    mine = client.get(f"/admin/reminders/duedigest/{digests['01'].pk}/change/")
    assert mine.status_code == 200 and not mine.context["has_change_permission"]
    assert client.get("/admin/reminders/duedigest/add/").status_code == 403
    client.post(f"/admin/reminders/duedigest/{digests['01'].pk}/change/", {"items": 99, "status": "pending"})
    assert DueDigest.objects.get(pk=digests["01"].pk).items == 4
