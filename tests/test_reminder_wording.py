"""What a reminder says, read in every channel (in-app feed page, e-mail text and HTML, Zalo) at each
stage: before the deadline ("còn N ngày"), on the day ("đến hạn hôm nay") and overdue ("quá hạn N
ngày"). The feed once said "Còn 289 ngày" on work 289 days overdue (issue 11)."""

import datetime as dt
import zoneinfo

import pytest
import time_machine

from tasks_app.reminders.models import Delivery, ReminderPolicy
from tasks_app.reminders.sender import deliver
from tasks_app.reminders.sweep import run_sweep
from tests.conftest import make_assignment
from tests.fixtures_reminders import expand_all

HCM = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
DAY = dt.date(2026, 6, 30)  # a Tuesday

# stage → (deadline, what every channel says, what no channel may say)
STAGES = {
    "before": (DAY + dt.timedelta(days=3), "còn 3 ngày", "quá hạn"),
    "due": (DAY, "đến hạn hôm nay", "quá hạn"),
    "overdue": (DAY - dt.timedelta(days=289), "quá hạn 289 ngày", "còn 289"),
}


@pytest.fixture
def sent(request, task, head_a, smtp_server, zalo_server):
    """The stage's reminder sent to the head of commune A on every channel; what each channel shows."""
    deadline, _, _ = STAGES[request.param]
    head_a.zalo_user_id = "zalo-head-a"
    head_a.save()
    ReminderPolicy.objects.create(channels=["email", "zalo", "feed"])
    make_assignment(task, head_a.unit, deadline=deadline)
    with time_machine.travel(dt.datetime(2026, 6, 30, 9, 0, tzinfo=HCM), tick=False):
        run_sweep()
        expand_all()  # what each sender does first (issue 14)
        assert Delivery.objects.filter(recipient=head_a).count() == 3
        for channel in ("email", "zalo", "feed"):
            assert deliver(head_a.pk, channel).sent == 1
    [message] = smtp_server.to(head_a.email)
    [zalo] = zalo_server.delivered("/message/cs")
    return request.param, {
        "email text": message.get_body(("plain",)).get_content(),
        "email html": message.get_body(("html",)).get_content(),
        "zalo": zalo["body"]["message"]["text"],
    }


@pytest.mark.parametrize("sent", list(STAGES), indirect=True)
@pytest.mark.parametrize("channel", ["email text", "email html", "zalo"])
def test_each_channel_says_where_the_deadline_stands(sent, channel):
    stage, texts = sent
    _, says, never = STAGES[stage]
    text = texts[channel].lower()
    assert says in text and never not in text


@pytest.mark.parametrize("sent", list(STAGES), indirect=True)
def test_the_feed_page_says_where_the_deadline_stands(sent, client, head_a):
    stage, _ = sent
    _, says, never = STAGES[stage]
    client.force_login(head_a.user)
    with time_machine.travel(dt.datetime(2026, 6, 30, 10, 0, tzinfo=HCM), tick=False):
        page = client.get("/notifications/").content.decode().lower()
    assert says in page and never not in page
