"""Channels against real servers on loopback: an SMTP server (aiosmtpd) and an HTTP server standing
in for Zalo that answers success, error != 0, HTTP 500 and timeouts. Each fault test asserts zero
lost and zero duplicate deliveries."""

import datetime as dt
import zoneinfo

import pytest
import time_machine

from tasks_app.models import Task
from tasks_app.reminders.channels import ChannelError
from tasks_app.reminders.models import Delivery, ReminderPolicy, ZaloToken
from tasks_app.reminders.sender import deliver
from tasks_app.reminders.sweep import run_sweep
from tests.conftest import make_assignment

HCM = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
DAY = dt.date(2026, 6, 23)  # a Tuesday, 7 days before the 30 June deadline


@pytest.fixture
def clock():
    with time_machine.travel(dt.datetime(2026, 6, 23, 9, 0, tzinfo=HCM), tick=True) as traveller:
        yield traveller


@pytest.fixture
def due(task, head_a, clock):
    head_a.zalo_user_id = "zalo-head-a"
    head_a.phone = "0912 345 678"
    head_a.save()
    assignment = make_assignment(task, head_a.unit, deadline=dt.date(2026, 6, 30))
    return assignment


def sweep(channels):
    ReminderPolicy.objects.update_or_create(plan=None, defaults={"channels": channels})
    return run_sweep()


def statuses():
    return sorted(Delivery.objects.values_list("channel", "status", "attempts"))


def test_email_digest_over_smtp(due, head_a, smtp_server):
    sweep(["email"])
    assert deliver(head_a.pk, "email").sent == 1
    [message] = smtp_server.to(head_a.email)
    assert str(message["Subject"]).strip().startswith("[Nhắc việc] 1 nhiệm vụ")
    assert message["Message-ID"].startswith("<reminder-")
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "còn 7 ngày" in text and f"/assignments/{due.pk}/" in text
    assert f'href="http://127.0.0.1:8000/assignments/{due.pk}/"' in html
    assert statuses() == [("email", "sent", 1)]
    # Running the sweep and the sender again sends nothing twice.
    sweep(["email"])
    assert deliver(head_a.pk, "email").claimed == 0
    assert len(smtp_server.to(head_a.email)) == 1


def test_smtp_down_then_back(due, head_a, smtp_server, clock):
    sweep(["email"])
    smtp_server.stop()
    with pytest.raises(ChannelError) as failure:
        deliver(head_a.pk, "email")
    assert failure.value.retry_in == dt.timedelta(seconds=60) and not failure.value.gave_up
    row = Delivery.objects.get()
    assert (row.status, row.attempts) == ("pending", 1) and "SMTP" in row.last_error
    # Not due again before its backoff.
    assert deliver(head_a.pk, "email").claimed == 0
    smtp_server.start()
    clock.shift(dt.timedelta(seconds=61))
    assert deliver(head_a.pk, "email").sent == 1
    assert len(smtp_server.to(head_a.email)) == 1
    assert statuses() == [("email", "sent", 2)]


def test_failing_row_is_marked_dead_and_not_retried_forever(due, head_a, smtp_server, clock):
    ReminderPolicy.objects.create(channels=["email"], max_attempts=3)
    run_sweep()
    smtp_server.refuse = True
    for attempt in range(1, 4):
        with pytest.raises(ChannelError) as failure:
            deliver(head_a.pk, "email")
        assert failure.value.gave_up == (attempt == 3)
        clock.shift(dt.timedelta(hours=2))
    row = Delivery.objects.get()
    assert (row.status, row.attempts) == ("dead", 3) and "451" in row.last_error
    smtp_server.refuse = False
    assert deliver(head_a.pk, "email").claimed == 0
    assert smtp_server.to(head_a.email) == []


def test_zalo_oa_message(due, head_a, zalo_server):
    sweep(["zalo"])
    assert deliver(head_a.pk, "zalo").sent == 1
    [request] = zalo_server.delivered("/v3.0/oa/message/cs")
    assert request["token"] == "oa-token"
    assert request["body"]["recipient"] == {"user_id": "zalo-head-a"}
    assert "Nhắc việc 23/06/2026" in request["body"]["message"]["text"]
    assert Delivery.objects.get().provider_id == "m1"


@pytest.mark.parametrize("fault", ["error", "500", "timeout"])
def test_zalo_failing_then_recovering(due, head_a, zalo_server, clock, fault):
    sweep(["zalo"])
    zalo_server.modes = [fault, fault]
    for _ in range(2):
        with pytest.raises(ChannelError) as failure:
            deliver(head_a.pk, "zalo")
        clock.shift(dt.timedelta(hours=1))
    expected = {"error": "Zalo error -32: Rate limit exceeded", "500": "HTTP 500", "timeout": "Timeout"}[fault]
    assert expected in str(failure.value)
    assert Delivery.objects.get().status == "pending"
    assert deliver(head_a.pk, "zalo").sent == 1
    assert len(zalo_server.delivered("/v3.0/oa/message/cs")) == 1
    assert statuses() == [("zalo", "sent", 3)]


def test_expired_oa_token_is_refreshed_once(due, head_a, zalo_server):
    zalo_server.valid_tokens = {"something-else"}
    sweep(["zalo"])
    assert deliver(head_a.pk, "zalo").sent == 1
    assert zalo_server.refresh_calls == 1
    [request] = zalo_server.delivered("/v3.0/oa/message/cs")[-1:]
    assert request["token"] == "oa-token-1"
    token = ZaloToken.objects.get()
    assert (token.access_token, token.refresh_token) == ("oa-token-1", "refresh-1")


def test_zns_template_message(due, head_a, zalo_server):
    sweep(["zns"])
    assert deliver(head_a.pk, "zns").sent == 1
    [request] = zalo_server.delivered("/message/template")
    body = request["body"]
    assert body["phone"] == "84912345678" and body["template_id"] == "tpl-1"
    assert body["template_data"]["deadline"] == "30/06/2026" and body["tracking_id"]


def test_all_channels_at_once_each_once(due, head_a, smtp_server, zalo_server):
    sweep(["email", "zalo", "zns", "feed"])
    for channel in ("email", "zalo", "zns", "feed"):
        assert deliver(head_a.pk, channel).sent == 1
    assert len(smtp_server.to(head_a.email)) == 1
    assert len(zalo_server.delivered("/v3.0/oa/message/cs")) == 1
    assert len(zalo_server.delivered("/message/template")) == 1
    assert {s for _, s, _ in statuses()} == {"sent"}


def test_zalo_and_zns_link_one_assignment_to_its_page_and_several_to_the_list(due, head_a, task, zalo_server):
    """A message about one assignment sends its reader to that assignment's page; a digest of
    several sends them to their list (the items are named in the text, the list holds them all)."""
    site = "http://127.0.0.1:8000"
    sweep(["zalo", "zns"])
    assert deliver(head_a.pk, "zalo").sent == 1 and deliver(head_a.pk, "zns").sent == 1
    [one] = zalo_server.delivered("/v3.0/oa/message/cs")
    assert one["body"]["message"]["text"].rstrip().splitlines()[-1] == f"{site}/assignments/{due.pk}/"
    [zns] = zalo_server.delivered("/message/template")
    assert zns["body"]["template_data"]["url"] == f"{site}/assignments/{due.pk}/"

    zalo_server.requests.clear()
    # Monday 29 June: the first is due tomorrow, a second one today: a digest of two.
    other = Task.objects.create(
        group=task.group,
        code="2026-01-02",
        number=2,
        title="Rút ngắn 50% thời gian giải quyết thủ tục hành chính",
        description="Cắt giảm thời gian xử lý hồ sơ.",
        deliverable="Báo cáo",
        acceptance_criteria="Thời gian giảm 50%",
        default_deadline=dt.date(2026, 6, 29),
        authority=task.authority,
    )
    second = make_assignment(other, head_a.unit)
    with time_machine.travel(dt.datetime(2026, 6, 29, 9, 0, tzinfo=HCM), tick=True):
        sweep(["zalo", "zns"])
        assert deliver(head_a.pk, "zalo").messages == 1 and deliver(head_a.pk, "zns").messages == 1
    [several] = zalo_server.delivered("/v3.0/oa/message/cs")
    text = several["body"]["message"]["text"]
    assert text.rstrip().splitlines()[-1] == f"{site}/assignments/", text
    assert second.task.code in text
    [zns] = zalo_server.delivered("/message/template")
    assert zns["body"]["template_data"]["url"] == f"{site}/assignments/"
    assert zns["body"]["template_data"]["more"] == 1
