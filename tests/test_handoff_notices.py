"""Handoff notices through the reminders' ledger, sender and channels: each change of hands reaches
whoever acts next once per recipient and channel (in-app at once, with the reason; e-mail and Zalo
after commit, within the send window), in the recipient's language, and a rolled-back change
records and sends nothing.

Real services: the loopback SMTP server (aiosmtpd) and the loopback Zalo HTTP server; Celery runs
in-process (eager) so a commit runs the send at once, as a worker would."""

import datetime as dt
import zoneinfo
from collections import Counter

import pytest
import time_machine
from django.db import transaction

from tasks_app.models import Assignment
from tasks_app.reminders.models import NOTICE_PREFIX, Delivery, FeedItem, Handoff, ReminderPolicy
from tasks_app.reminders.sender import deliver
from tasks_app.reminders.tasks import dispatch
from tests.conftest import make_assignment, make_official

HCM = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def eager_celery():
    from accountability.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def policy(db):
    return ReminderPolicy.objects.create(send_hour=8, send_until_hour=20, channels=["email", "zalo", "feed"])


@pytest.fixture
def people(head_a, head_b, leader, commune_a):
    official_a = make_official("official-a", commune_a, position="Chuyên viên")
    for who, zalo in ((head_a, "z-head-a"), (head_b, "z-head-b"), (leader, "z-leader"), (official_a, "z-off-a")):
        who.zalo_user_id = zalo
        who.save()
    head_b.language = "en"
    head_b.save()
    return {"official_a": official_a}


@pytest.fixture
def work(task, head_a, head_b, people):
    a = make_assignment(task, head_a.unit, deadline=dt.date(2026, 6, 30))
    Assignment.objects.filter(pk=a.pk).update(responsible=people["official_a"])
    a.refresh_from_db()
    b = make_assignment(task, head_b.unit, deadline=dt.date(2026, 6, 30))
    return a, b


def ledger():
    notices = Delivery.objects.filter(stage__startswith=NOTICE_PREFIX).select_related("recipient__user")
    return Counter(
        (d.stage[len(NOTICE_PREFIX) :].split("@")[0], d.recipient.user.username, d.channel, d.status) for d in notices
    )


def zalo_to(server, user_id):
    return [r for r in server.delivered("/v3.0/oa/message/cs") if r["body"]["recipient"]["user_id"] == user_id]


def test_the_loop_is_told_once_to_each_recipient_on_each_channel(
    work, people, head_a, head_b, leader, policy, smtp_server, zalo_server
):
    a, b = work
    official_a = people["official_a"]
    with time_machine.travel(dt.datetime(2026, 6, 23, 9, 0, tzinfo=HCM), tick=True):
        a.report_progress(by=official_a, percent=100)
        a.submit(by=official_a, note="Báo cáo kết quả")
        a.return_(by=leader, reason="Thiếu phụ lục số liệu quý II")
        a.submit(by=official_a, note="Đã bổ sung phụ lục")
        a.accept(by=leader, note="Đạt")
        extension = b.request_extension(by=head_b, requested_deadline=dt.date(2026, 7, 31), reason="Chờ vốn")
        extension.decide(by=leader, approve=True, note="Đồng ý")
        # The dispatcher and a second send find nothing more to send.
        dispatch()
        for who in (leader, head_a, official_a, head_b):
            for channel in ("email", "zalo"):
                assert deliver(who.pk, channel).claimed == 0

    sent = {"sent": 1}
    expected = Counter()
    for kind, users in [
        ("submitted", ["city-leader"]),
        ("submitted", ["city-leader"]),
        ("returned", ["official-a", "head-a"]),
        ("accepted", ["official-a", "head-a"]),
        ("extension_requested", ["city-leader"]),
        ("extension_decided", ["head-b"]),  # the requester is the head: told once
    ]:
        for user in users:
            for channel in ("feed", "email", "zalo"):
                expected[(kind, user, channel, "sent")] += sent["sent"]
    assert ledger() == expected
    assert Handoff.objects.count() == 6

    # Each notice reached the loopback servers once: one message per notice and recipient.
    assert len(smtp_server.to(leader.email)) == 3 and len(zalo_to(zalo_server, "z-leader")) == 3
    assert len(smtp_server.to(official_a.email)) == 2 and len(zalo_to(zalo_server, "z-off-a")) == 2
    assert len(smtp_server.to(head_a.email)) == 2 and len(zalo_to(zalo_server, "z-head-a")) == 2
    assert len(smtp_server.to(head_b.email)) == 1 and len(zalo_to(zalo_server, "z-head-b")) == 1

    # The unit hears of the return on every channel, in Vietnamese; the feed carries the reason.
    texts = [m.get_body(("plain",)).get_content() for m in smtp_server.to(head_a.email)]
    assert sum("bị trả lại" in t for t in texts) == 1 and f"/assignments/{a.pk}/" in texts[0]
    assert any("bị trả lại" in r["body"]["message"]["text"] for r in zalo_to(zalo_server, "z-head-a"))
    feed = FeedItem.objects.filter(official=head_a, handoff__kind="returned").get()
    assert feed.handoff.note == "Thiếu phụ lục số liệu quý II"
    # Head B reads English.
    [message] = smtp_server.to(head_b.email)
    body = message.get_body(("plain",)).get_content()
    assert "extension decided" in body and "Dear" in body, body


def test_a_notice_links_to_its_assignment_on_zalo_and_in_the_email(
    work, people, head_a, head_b, leader, policy, smtp_server, zalo_server
):
    """A handoff notice is about one assignment and asks its reader to act on it: the Zalo text
    ends with that assignment's page (not the reader's list), as the e-mail's link does."""
    a, b = work
    official_a = people["official_a"]
    with time_machine.travel(dt.datetime(2026, 6, 23, 9, 0, tzinfo=HCM), tick=True):
        a.report_progress(by=official_a, percent=100)
        a.submit(by=official_a, note="Báo cáo kết quả")
        a.return_(by=leader, reason="Thiếu phụ lục")
        b.request_extension(by=head_b, requested_deadline=dt.date(2026, 7, 31), reason="Chờ vốn")

    site = "http://127.0.0.1:8000"
    for zalo_id, email, assignment in (
        ("z-leader", leader.email, None),  # told of a's submission and of b's request
        ("z-off-a", official_a.email, a),
        ("z-head-a", head_a.email, a),
    ):
        messages = [r["body"]["message"]["text"] for r in zalo_to(zalo_server, zalo_id)]
        mails = _mail_texts(smtp_server, email)
        assert messages and len(messages) == len(mails), (messages, mails)
        expected = (
            {f"{site}/assignments/{assignment.pk}/"}
            if assignment
            else {
                f"{site}/assignments/{a.pk}/",
                f"{site}/assignments/{b.pk}/",
            }
        )
        assert {m.rstrip().splitlines()[-1] for m in messages} == expected, messages
        assert all(not m.rstrip().endswith(f"{site}/assignments/") for m in messages), messages
        assert {u for u in expected if any(u in t and f'href="{u}"' in h for t, h in mails)} == expected


def test_a_rolled_back_change_records_and_sends_nothing(work, people, leader, policy, smtp_server, zalo_server):
    a, _ = work
    official_a = people["official_a"]

    class Abort(Exception):
        pass

    with time_machine.travel(dt.datetime(2026, 6, 23, 9, 0, tzinfo=HCM), tick=True):
        a.report_progress(by=official_a, percent=100)
        with pytest.raises(Abort), transaction.atomic():
            a.submit(by=official_a, note="nộp")
            assert Delivery.objects.filter(stage__startswith=NOTICE_PREFIX).count() == 3  # recorded inside...
            raise Abort
        dispatch()
    assert not Handoff.objects.exists() and not Delivery.objects.exists() and not FeedItem.objects.exists()
    assert not Delivery.objects.filter(stage__startswith=NOTICE_PREFIX).exists()
    assert smtp_server.messages == [] and zalo_server.requests == []
    assert Assignment.objects.get(pk=a.pk).status == "in_progress"


def test_in_app_at_once_at_night_email_and_zalo_when_the_window_opens(
    work, people, leader, policy, smtp_server, zalo_server
):
    a, _ = work
    official_a = people["official_a"]
    with time_machine.travel(dt.datetime(2026, 6, 23, 22, 30, tzinfo=HCM), tick=True):
        a.report_progress(by=official_a, percent=100)
        a.submit(by=official_a, note="nộp lúc tối")
        assert FeedItem.objects.filter(official=leader, handoff__kind="submitted").count() == 1
        assert smtp_server.messages == [] and zalo_server.requests == []
        dispatch()  # quiet hours: nothing leaves
        assert smtp_server.messages == [] and zalo_server.requests == []
    with time_machine.travel(dt.datetime(2026, 6, 24, 8, 1, tzinfo=HCM), tick=True):
        dispatch()
        dispatch()
    assert len(smtp_server.to(leader.email)) == 1 and len(zalo_to(zalo_server, "z-leader")) == 1
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}


def test_a_reminder_and_a_handoff_on_the_same_assignment_both_stay_in_the_feed(work, people, leader, policy):
    from tasks_app.reminders.channels import CHANNELS, Digest, DigestItem

    a, _ = work
    official_a = people["official_a"]
    with time_machine.travel(dt.datetime(2026, 6, 23, 9, 0, tzinfo=HCM), tick=True):
        a.report_progress(by=official_a, percent=100)
        a.submit(by=official_a, note="nộp")
        a.return_(by=leader, reason="Thiếu chữ ký")
        day = dt.date(2026, 6, 23)
        digest = Digest(
            official_a, day, "k", [DigestItem(a, "before-7@2026-06-30", -7, a.deadline, "responsible", day)]
        )
        CHANNELS["feed"].send(official_a, digest)
        CHANNELS["feed"].send(official_a, digest)
    items = FeedItem.objects.filter(official=official_a)
    assert sorted((i.handoff_id is not None, i.stage[:7]) for i in items) == [(False, "before-"), (True, "notice-")]


def _mail_texts(smtp_server, address):
    return [
        (m.get_body(("plain",)).get_content(), m.get_body(("html",)).get_content()) for m in smtp_server.to(address)
    ]


def test_the_reason_and_the_decision_are_in_the_text_received_on_every_channel(
    work, people, head_a, head_b, leader, policy, smtp_server, zalo_server
):
    """Returned (with the reason) → the responsible official and the unit head; extension decided
    (the decision and the deadline) → the unit: the text the loopback SMTP and Zalo servers
    received says it, in the recipient's language, as the in-app feed does."""
    a, b = work
    official_a = people["official_a"]
    reason = "Thiếu phụ lục số liệu quý II & chữ ký <Giám đốc>"
    with time_machine.travel(dt.datetime(2026, 6, 23, 9, 0, tzinfo=HCM), tick=True):
        a.report_progress(by=official_a, percent=100)
        a.submit(by=official_a, note="Báo cáo kết quả")
        a.return_(by=leader, reason=reason)
        refused = a.request_extension(by=official_a, requested_deadline=dt.date(2026, 7, 15), reason="Chờ số liệu")
        refused.decide(by=leader, approve=False, note="Không đủ căn cứ")
        granted = b.request_extension(by=head_b, requested_deadline=dt.date(2026, 7, 31), reason="Chờ vốn")
        granted.decide(by=leader, approve=True, note="Đồng ý")

    # The return: its reason in the e-mail (text and HTML, escaped) and the Zalo text of both recipients.
    for who, zalo_id in ((official_a, "z-off-a"), (head_a, "z-head-a")):
        mails = _mail_texts(smtp_server, who.email)
        returned = [(t, h) for t, h in mails if "bị trả lại, cần hoàn thiện" in t]
        assert len(returned) == 1, mails
        text, html = returned[0]
        assert f"Lý do: {reason}" in text and "Kính gửi" in text, text
        assert "Lý do: Thiếu phụ lục số liệu quý II &amp; chữ ký &lt;Giám đốc&gt;" in html, html
        zalo = [r["body"]["message"]["text"] for r in zalo_to(zalo_server, zalo_id)]
        assert sum(f"Lý do: {reason}" in t for t in zalo) == 1, zalo
        # The feed shows the same sentence.
        feed = FeedItem.objects.get(official=who, handoff__kind="returned")
        assert feed.handoff.note == reason

    # The refused extension (Vietnamese): the decision, the deadline that stands and the opinion.
    for who, zalo_id in ((official_a, "z-off-a"), (head_a, "z-head-a")):
        texts = [t for t, _ in _mail_texts(smtp_server, who.email)] + [
            r["body"]["message"]["text"] for r in zalo_to(zalo_server, zalo_id)
        ]
        decided = [t for t in texts if "đã có quyết định về gia hạn" in t]
        assert len(decided) == 2, texts  # one e-mail, one Zalo message
        for t in decided:
            assert "đến 15/07/2026 không được chấp thuận" in t, t
            assert "Thời hạn giữ nguyên: 30/06/2026." in t and "Ý kiến: Không đủ căn cứ" in t, t

    # The granted extension, to head B who reads English: the decision and the new deadline.
    [(text, html)] = _mail_texts(smtp_server, head_b.email)
    [zalo] = [r["body"]["message"]["text"] for r in zalo_to(zalo_server, "z-head-b")]
    for t in (text, zalo):
        assert "extension decided" in t, t
        assert "to 31/07/2026 was approved" in t and "New deadline: 31/07/2026." in t, t
        assert "Bị" not in t and "Lý do" not in t and "Thời hạn" not in t, t
    assert "New deadline: 31/07/2026." in html


def test_a_reason_of_4000_characters_fits_a_zalo_text_and_the_email_carries_it_whole(
    work, people, head_a, leader, policy, smtp_server, zalo_server
):
    """A return's reason may be 4,000 characters (NOTE_MAX_LENGTH); a Zalo text holds 2,000: the
    Zalo line shows its start, visibly cut ("…"), with the link to the assignment; the e-mail
    has it all. Nothing is left unsent."""
    from tasks_app.lifecycle import NOTE_MAX_LENGTH
    from tasks_app.reminders.channels import ZALO_TEXT_LIMIT

    a, _ = work
    official_a = people["official_a"]
    reason = ("Thiếu phụ lục số liệu giải ngân theo từng dự án. " * 100)[:NOTE_MAX_LENGTH]
    with time_machine.travel(dt.datetime(2026, 6, 23, 9, 0, tzinfo=HCM), tick=True):
        a.report_progress(by=official_a, percent=100)
        a.submit(by=official_a, note="Báo cáo")
        a.return_(by=leader, reason=reason)
    [zalo] = [r["body"]["message"]["text"] for r in zalo_to(zalo_server, "z-head-a")]
    assert len(zalo) <= ZALO_TEXT_LIMIT and "Lý do: Thiếu phụ lục" in zalo and "…" in zalo, len(zalo)
    assert zalo.rstrip().endswith(f"/assignments/{a.pk}/")  # the link to the returned assignment
    [mail] = smtp_server.to(head_a.email)
    assert reason.strip() in " ".join(mail.get_body(("plain",)).get_content().split())
    assert set(Delivery.objects.filter(stage__startswith=NOTICE_PREFIX).values_list("status", flat=True)) == {"sent"}
