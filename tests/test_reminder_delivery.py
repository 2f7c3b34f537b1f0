"""Delivery as the ledger promises it (issue 13), on PostgreSQL with the loopback SMTP and Zalo servers:
every item of a 500-item digest reaches its reader on every channel; a copy sent again carries the
same Message-ID / tracking id; the plan's own policy decides the send window, the attempts and the
retry time; a Zalo answer that comes late is awaited, and what remains is bounded and measured."""

import datetime as dt
import re
import threading
import time
import zoneinfo

import pytest
import time_machine
from django.db import connection

from tasks_app.models import Assignment, Plan, Task, TaskGroup
from tasks_app.reminders.channels import ZALO_TEXT_LIMIT, ChannelError, ZaloClient
from tasks_app.reminders.models import Delivery, FeedItem, ReminderPolicy, ZaloToken
from tasks_app.reminders.sender import deliver, due_pairs, message_key
from tasks_app.reminders.sweep import run_sweep
from tests.conftest import make_assignment
from tests.fixtures_reminders import expand_all

pytestmark = pytest.mark.postgres

HCM = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
DAY = dt.date(2026, 6, 30)  # a Tuesday
CHANNELS = ["email", "zalo", "zns", "feed"]


def at(hour, minute=0, second=0, day=DAY):
    return dt.datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=HCM)


@pytest.fixture
def reachable(head_a, leader):
    for official, zalo in ((head_a, "zalo-head-a"), (leader, "zalo-leader")):
        official.zalo_user_id = zalo
        official.phone = "0912 345 678"
        official.save()


def five_hundred(group, head_a, leader):
    """500 assignments of commune A, all 7 days overdue on DAY: the head answers for each, the
    city leader hears of each as the authority (the escalated digest of the issue, 66 → 500)."""
    tasks = Task.objects.bulk_create(
        Task(
            group=group,
            code=f"2026-09-{n:03d}",
            number=n,
            title=f"Nhiệm vụ số {n} về cải cách hành chính và chuyển đổi số của thành phố",
            authority=leader,
        )
        for n in range(1, 501)
    )
    deadline = DAY - dt.timedelta(days=7)
    return Assignment.objects.bulk_create(
        Assignment(
            task=t,
            unit=head_a.unit,
            role=Assignment.Role.LEAD,
            responsible=head_a,
            authority=leader,
            deadline=deadline,
            original_deadline=deadline,
            status="issued",
        )
        for t in tasks
    )


def test_a_500_item_digest_reaches_its_reader_on_every_channel(
    group, head_a, leader, reachable, smtp_server, zalo_server
):
    assignments = five_hundred(group, head_a, leader)
    codes = {a.task.code for a in assignments}
    ReminderPolicy.objects.create(channels=CHANNELS)
    with time_machine.travel(at(9), tick=True):
        run_sweep(force=True)
        expand_all()  # what each sender does first (issue 14)
        rows = Delivery.objects.filter(recipient=leader, recipient_role="authority")
        assert rows.count() == 500 * 4
        for channel in CHANNELS:
            deliver(leader.pk, channel)
    assert set(rows.values_list("status", flat=True)) == {"sent"}

    # E-mail: one message with every item, its Message-ID the key of its rows.
    [message] = smtp_server.to(leader.email)
    text, html = message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()
    for a in assignments:
        assert f"/assignments/{a.pk}/" in text and f'href="http://127.0.0.1:8000/assignments/{a.pk}/"' in html
    email_rows = rows.filter(channel="email")
    assert message["Message-ID"] == f"<reminder-{message_key(list(email_rows.values_list('pk', flat=True)))}@127.0.0.1>"

    # Zalo OA: split into numbered texts under the limit, in order; together they name every item.
    texts = [r["body"]["message"]["text"] for r in zalo_server.delivered("/message/cs")]
    texts = [t for t in texts if t.startswith(f"Nhắc việc 30/06/2026 — {leader.full_name}")]
    assert len(texts) > 1 and all(len(t) <= ZALO_TEXT_LIMIT for t in texts)
    assert [re.search(r"\((\d+)/(\d+)\):", t).groups() for t in texts] == [
        (str(n), str(len(texts))) for n in range(1, len(texts) + 1)
    ]
    named = {code for t in texts for code in re.findall(r"2026-09-\d{3}", t)}
    assert named == codes and not any(t.rstrip().endswith("…") for t in texts)
    assert all(t.rstrip().endswith("/assignments/") for t in texts)
    assert len(set(rows.filter(channel="zalo").values_list("message_key", flat=True))) == len(texts)

    # ZNS: one template message by design, counting every item, with "và N việc khác" and the list link.
    [zns] = [r for r in zalo_server.delivered("/message/template") if r["body"]["phone"] == "84912345678"][-1:]
    data = zns["body"]["template_data"]
    assert (data["count"], data["more"], data["url"]) == (500, 499, "http://127.0.0.1:8000/assignments/")
    assert zns["body"]["tracking_id"] == rows.filter(channel="zns").values_list("message_key", flat=True)[0]

    # Feed: one item per assignment.
    assert set(FeedItem.objects.filter(official=leader).values_list("assignment__task__code", flat=True)) == codes


def test_a_digest_cut_in_the_middle_keeps_the_sent_part_sent(group, head_a, leader, reachable, zalo_server):
    five_hundred(group, head_a, leader)
    ReminderPolicy.objects.create(channels=["zalo"])
    with time_machine.travel(at(9), tick=True) as clock:
        run_sweep(force=True)
        expand_all()  # what each sender does first (issue 14)
        zalo_server.modes = ["ok", "ok", "500"]  # the third text of the leader's digest fails
        with pytest.raises(ChannelError):
            deliver(leader.pk, "zalo")
        rows = Delivery.objects.filter(recipient=leader, channel="zalo")
        sent = rows.filter(status="sent")
        first_two = [r["body"]["message"]["text"] for r in zalo_server.delivered("/message/cs")]
        # Rows are marked sent exactly for the items in the two accepted messages.
        assert {c for t in first_two for c in re.findall(r"2026-09-\d{3}", t)} == set(
            sent.values_list("assignment__task__code", flat=True)
        )
        assert 0 < sent.count() < 500 and rows.filter(status="pending", attempts=1).count() == 500 - sent.count()
        clock.shift(dt.timedelta(minutes=2))
        deliver(leader.pk, "zalo")
    assert set(rows.values_list("status", flat=True)) == {"sent"}
    # Every item once: the retry sent only what the failed message and the ones after it carried.
    texts = [r["body"]["message"]["text"] for r in zalo_server.delivered("/message/cs")]
    named = [c for t in texts for c in re.findall(r"2026-09-\d{3}", t)]
    assert len(named) == len(set(named)) == 500


# --- the plan's own policy -------------------------------------------------------------------------


@pytest.fixture
def two_plans(task, head_a, group, leader):
    """The task's plan keeps 14:00–16:00 and 2 attempts; another plan follows the default (8–20, 6)."""
    other_plan = Plan.objects.create(year=2027, name="Kế hoạch khác")
    other_group = TaskGroup.objects.create(plan=other_plan, number=1, title="Khác")
    other_task = Task.objects.create(
        group=other_group,
        code="2027-01-01",
        number=1,
        title="Việc khác",
        description="Nội dung",
        deliverable="Báo cáo",
        acceptance_criteria="Đủ",
        authority=leader,
    )
    ReminderPolicy.objects.create(channels=["email"])
    ReminderPolicy.objects.create(plan=group.plan, channels=["email"], send_hour=14, send_until_hour=16, max_attempts=2)
    own = make_assignment(task, head_a.unit, deadline=DAY + dt.timedelta(days=7))
    default = make_assignment(other_task, head_a.unit, deadline=DAY + dt.timedelta(days=7))
    with time_machine.travel(at(8, 30), tick=False):
        run_sweep(force=True)
        expand_all()  # what each sender does first (issue 14)
    return own, default


def test_the_plans_send_window_is_kept_when_sending(two_plans, head_a, smtp_server):
    own, default = two_plans
    with time_machine.travel(at(9), tick=False):
        assert deliver(head_a.pk, "email").sent == 1  # only the default plan's row
    assert Delivery.objects.get(assignment=own).status == "pending"
    with time_machine.travel(at(13, 59), tick=False):
        assert due_pairs() == [] and deliver(head_a.pk, "email").claimed == 0
    with time_machine.travel(at(14, 1), tick=False):
        assert due_pairs() == [(head_a.pk, "email")]
        assert deliver(head_a.pk, "email").sent == 1
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
    with time_machine.travel(at(21), tick=False):
        assert due_pairs() == []  # no policy sends at 21:00


def test_the_plans_attempts_and_window_decide_retries(two_plans, head_a, smtp_server):
    own, default = two_plans
    smtp_server.refuse = True
    with time_machine.travel(at(15, 59, 30), tick=False):
        with pytest.raises(ChannelError) as failure:
            deliver(head_a.pk, "email")
    assert not failure.value.gave_up
    mine, other = Delivery.objects.get(assignment=own), Delivery.objects.get(assignment=default)
    # The plan's window closes at 16:00: its retry waits for 14:00 the next day; the default's does not.
    assert mine.next_attempt_at == at(14, day=DAY + dt.timedelta(days=1))
    assert other.next_attempt_at == at(16, 0, 30)
    with time_machine.travel(at(14, 0, 1, day=DAY + dt.timedelta(days=1)), tick=False):
        with pytest.raises(ChannelError):
            deliver(head_a.pk, "email")
    mine.refresh_from_db()
    other.refresh_from_db()
    # Two attempts are the plan's limit; the default's six are not reached.
    assert (mine.status, mine.attempts) == ("dead", 2)
    assert (other.status, other.attempts) == ("pending", 2)


# --- a copy carries the same key ---------------------------------------------------------------------


def test_an_email_resent_after_a_timeout_carries_the_same_message_id(task, head_a, smtp_server, settings):
    ReminderPolicy.objects.create(channels=["email"])
    make_assignment(task, head_a.unit, deadline=DAY + dt.timedelta(days=7))
    settings.EMAIL_TIMEOUT = 1
    smtp_server.stall = 1.5  # the server takes the message but answers after our timeout
    with time_machine.travel(at(9), tick=True) as clock:
        run_sweep(force=True)
        expand_all()  # what each sender does first (issue 14)
        with pytest.raises(ChannelError):
            deliver(head_a.pk, "email")
        smtp_server.stall = 0
        clock.shift(dt.timedelta(minutes=2))
        assert deliver(head_a.pk, "email").sent == 1
    wait_until(lambda: len(smtp_server.to(head_a.email)) == 2)
    first, second = smtp_server.to(head_a.email)
    assert first["Message-ID"] == second["Message-ID"]  # the mail system drops the copy


def wait_until(predicate, timeout=5.0):
    end = time.monotonic() + timeout
    while not predicate() and time.monotonic() < end:
        time.sleep(0.05)
    assert predicate()


def test_zalo_answering_late_is_awaited_then_bounded(task, head_a, reachable, zalo_server, settings):
    """Measured bound: answers within ZALO_ANSWER_TIMEOUT count as delivered (no copy); a later one
    is sent again, with the same tracking id, only after REMINDER_UNCERTAIN_RETRY_SECONDS."""
    ReminderPolicy.objects.create(channels=["zns"])
    make_assignment(task, head_a.unit, deadline=DAY + dt.timedelta(days=7))
    settings.ZALO_ANSWER_TIMEOUT = 2
    settings.REMINDER_UNCERTAIN_RETRY_SECONDS = 900
    with time_machine.travel(at(9), tick=True) as clock:
        run_sweep(force=True)
        expand_all()  # what each sender does first (issue 14)
        zalo_server.modes = ["late:1.2"]  # late, within the answer timeout: delivered once
        assert deliver(head_a.pk, "zns").sent == 1
        assert len(zalo_server.accepted("/message/template")) == 1

    Delivery.objects.update(status="pending", attempts=0, message_key="", next_attempt_at=at(9))
    with time_machine.travel(at(9), tick=True) as clock:
        zalo_server.modes = ["late:2.6"]  # answered after the answer timeout: fate unknown
        started = time.monotonic()
        with pytest.raises(ChannelError) as failure:
            deliver(head_a.pk, "zns")
        waited = time.monotonic() - started
        assert failure.value.uncertain and failure.value.retry_in == dt.timedelta(seconds=900)
        assert 2 <= waited < 2.6
        clock.shift(dt.timedelta(seconds=899))
        assert deliver(head_a.pk, "zns").claimed == 0  # no copy before the bound
        clock.shift(dt.timedelta(seconds=2))
        assert deliver(head_a.pk, "zns").sent == 1
    late, copy = zalo_server.accepted("/message/template")[1:]
    assert late["body"]["tracking_id"] == copy["body"]["tracking_id"] != ""


# --- one token refresh at a time ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_first_refreshes_spend_the_refresh_token_once(zalo_server):
    assert ZaloToken.objects.count() == 0  # the first refresh ever: nothing to lock with a row lock
    zalo_server.refresh_delay = 0.5
    barrier, results, errors = threading.Barrier(2), [], []

    def refresh():
        try:
            barrier.wait()
            results.append(ZaloClient().refresh_token("oa-token"))
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert results == ["oa-token-1", "oa-token-1"]
    assert zalo_server.refresh_tokens_seen == ["refresh-0"] and ZaloToken.objects.count() == 1


# --- another kind of row: a handoff notice (issue 11) goes through the same ledger and channels -------


def test_a_handoff_notice_goes_out_beside_the_reminders(task, head_a, reachable, smtp_server, zalo_server, client):
    from tasks_app.reminders.sender import record_notice

    ReminderPolicy.objects.create(channels=["email", "zalo", "feed"])
    assignment = make_assignment(task, head_a.unit, deadline=DAY + dt.timedelta(days=7))
    with time_machine.travel(at(9), tick=False):
        run_sweep()
        expand_all()  # what each sender does first (issue 14)
        record_notice(assignment, "returned", 41, head_a, "responsible", ["email", "zalo", "zns", "feed"])
        record_notice(assignment, "returned", 41, head_a, "responsible", ["email"])  # recorded once
        notices = Delivery.objects.filter(stage="notice-returned@41")
        assert sorted(notices.values_list("channel", "status")) == [
            ("email", "pending"),
            ("feed", "pending"),
            ("zalo", "pending"),
            ("zns", "pending"),
        ]
        for channel in ("email", "zalo", "feed"):
            assert deliver(head_a.pk, channel).sent == 2  # the reminder and the notice, one message
    text = smtp_server.to(head_a.email)[0].get_body(("plain",)).get_content()
    assert "THÔNG BÁO" in text and "bị trả lại, cần hoàn thiện" in text and "còn 7 ngày" in text
    [zalo] = zalo_server.delivered("/message/cs")
    assert "bị trả lại, cần hoàn thiện" in zalo["body"]["message"]["text"]
    client.force_login(head_a.user)
    assert "bị trả lại, cần hoàn thiện" in client.get("/notifications/").content.decode()


def test_a_row_whose_assignment_is_gone_is_skipped_not_left_claimed(two_plans, head_a, smtp_server):
    """The ledger has no foreign-key check (issue 14): a row whose assignment was deleted while the
    sweep that wrote it ran is skipped by the sender, and the rest is sent."""
    own, default = two_plans
    orphan = Delivery.objects.get(assignment=default)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE reminders_delivery SET assignment_id = %s WHERE id = %s", [10**12, orphan.pk])
    with time_machine.travel(at(14, 1), tick=False):
        outcome = deliver(head_a.pk, "email")
    assert (outcome.sent, outcome.skipped) == (1, 1)
    orphan.refresh_from_db()
    assert orphan.status == "skipped" and orphan.last_error == "phân công đã bị xóa / assignment deleted"
    assert Delivery.objects.get(assignment=own).status == "sent"
