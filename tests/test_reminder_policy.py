"""The reminder calendar on a frozen clock: stages, working days, Tết, quiet hours, escalation,
closed work and extensions. Sending here goes through Django's mail (locmem) and the in-app feed."""

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.core import mail

from tasks_app.reminders import tasks
from tasks_app.reminders.feeds import feed_for
from tasks_app.reminders.models import Delivery, DueDigest, FeedItem, HolidayOverride, ReminderPolicy
from tasks_app.reminders.policy import PolicyRules, WorkingCalendar, window_for
from tasks_app.reminders.sender import deliver, due_pairs
from tasks_app.reminders.sweep import run_sweep
from tasks_app.status import Status
from tests.conftest import make_assignment, make_official
from tests.fixtures_reminders import expand_all

HCM = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")


def at(day: dt.date, hour=8, minute=5):
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=HCM), tick=False)


def run_day(day: dt.date, hour=8):
    """The beat's work of one day: the sweep, then each recipient's sender."""
    with at(day, hour):
        result = run_sweep()
        expand_all()  # what each sender does first (issue 14)
        for recipient_id, channel in due_pairs():
            deliver(recipient_id, channel)
    return result


def stages_by_day(assignment, days):
    seen = {}
    for day in days:
        run_day(day)
        rows = Delivery.objects.filter(assignment=assignment, day=day, channel="feed")
        if rows:
            seen[day] = sorted((r.stage.split("@")[0], r.recipient_role) for r in rows)
    return seen


def days(start, end):
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


def make_assignment_for(task, unit, responsible, deadline):
    a = make_assignment(task, unit, deadline=deadline)
    a.responsible = responsible
    a.save()
    return a


@pytest.fixture
def assignment(task, official_a, head_a):
    """An assignment of commune A whose responsible official is not the unit head."""
    return make_assignment_for(task, official_a.unit, official_a, dt.date(2026, 6, 30))


def test_schedule_before_and_after_deadline_on_working_days_with_escalation(assignment):
    seen = stages_by_day(assignment, days(dt.date(2026, 6, 20), dt.date(2026, 7, 8)))
    assert seen == {
        dt.date(2026, 6, 23): [("before-7", "responsible")],
        # Saturday 27 June is a day off: the 3-day reminder comes on Friday, earlier, not later.
        dt.date(2026, 6, 26): [("before-3", "responsible")],
        dt.date(2026, 6, 29): [("before-1", "responsible")],
        dt.date(2026, 6, 30): [("due-0", "responsible")],
        dt.date(2026, 7, 1): [("overdue-1", "responsible")],
        # Day 3: the unit head hears of it too.
        dt.date(2026, 7, 3): [("overdue-3", "head"), ("overdue-3", "responsible")],
        # Day 4 fell on Saturday: it comes on Monday (overdue reminders move later).
        dt.date(2026, 7, 6): [("overdue-4", "head"), ("overdue-4", "responsible")],
        # Day 7: the authority too.
        dt.date(2026, 7, 7): [("overdue-7", "authority"), ("overdue-7", "head"), ("overdue-7", "responsible")],
    }


def test_escalation_emails_reach_head_on_day_3_and_authority_on_day_7(assignment, head_a, leader, official_a):
    run_day(dt.date(2026, 7, 1))
    assert [m.to for m in mail.outbox] == [[official_a.email]]
    mail.outbox.clear()
    run_day(dt.date(2026, 7, 3))
    assert sorted(m.to[0] for m in mail.outbox) == sorted([official_a.email, head_a.email])
    head_mail = next(m for m in mail.outbox if m.to == [head_a.email])
    assert "vượt cấp" in head_mail.body.lower() and "quá hạn 3 ngày" in head_mail.body
    assert leader.email not in [m.to[0] for m in mail.outbox]
    mail.outbox.clear()
    run_day(dt.date(2026, 7, 7))
    assert sorted(m.to[0] for m in mail.outbox) == sorted([official_a.email, head_a.email, leader.email])


def test_deadline_in_tet_moves_reminders_to_working_days(task, official_a, head_a):
    # Tết 2026: 14–22 February are days off (weekend, Lunar New Year 16–20, weekend).
    assignment = make_assignment_for(task, official_a.unit, official_a, dt.date(2026, 2, 18))
    seen = stages_by_day(assignment, days(dt.date(2026, 2, 9), dt.date(2026, 2, 25)))
    assert seen == {
        dt.date(2026, 2, 11): [("before-7", "responsible")],
        # 3 days, 1 day and the day itself all fall in Tết: one reminder, the last working day before.
        dt.date(2026, 2, 13): [("due-0", "responsible")],
        # First working day after Tết: already 5 days overdue, so the unit head hears too.
        dt.date(2026, 2, 23): [("overdue-4", "head"), ("overdue-4", "responsible")],
        dt.date(2026, 2, 25): [("overdue-7", "authority"), ("overdue-7", "head"), ("overdue-7", "responsible")],
    }
    assert not Delivery.objects.filter(day__range=(dt.date(2026, 2, 14), dt.date(2026, 2, 22))).exists()


def test_make_up_saturday_is_a_working_day_and_overrides_win(db):
    calendar = WorkingCalendar()
    assert calendar.is_working_day(dt.date(2026, 8, 22))  # make-up Saturday known to `holidays`
    assert not calendar.is_working_day(dt.date(2026, 2, 17))  # Tết
    HolidayOverride.objects.create(date=dt.date(2026, 6, 23), is_working_day=False, name="Nghỉ bù")
    HolidayOverride.objects.create(date=dt.date(2026, 6, 27), is_working_day=True, name="Làm bù")
    calendar = WorkingCalendar.load()
    assert not calendar.is_working_day(dt.date(2026, 6, 23))
    assert calendar.is_working_day(dt.date(2026, 6, 27))
    rules = PolicyRules(ReminderPolicy())
    # The 7-day reminder of 30 June (aimed at the 23rd, now a day off) moves back to Monday the 22nd.
    assert rules.stage_on(dt.date(2026, 6, 30), window_for(dt.date(2026, 6, 22), calendar)).key == (
        "before-7@2026-06-30"
    )


def test_nothing_is_sent_at_3am(assignment, official_a):
    day = dt.date(2026, 6, 23)
    with at(day, hour=3, minute=0):
        result = run_sweep()
        expand_all()  # what each sender does first (issue 14)
        assert result.created == 0 and result.skipped_policies
        # Rows recorded by an operator at night are not sent at night either.
        run_sweep(force=True)
        expand_all()  # what each sender does first (issue 14)
        assert Delivery.objects.filter(status=Delivery.Status.PENDING).count() == 2  # email and feed
        assert tasks.dispatch() == 0
        assert deliver(official_a.pk, "email").claimed == 0
    assert mail.outbox == []
    with at(day, hour=8, minute=0):
        assert deliver(official_a.pk, "email").sent == 1
    assert len(mail.outbox) == 1


def test_completed_or_cancelled_assignment_gets_nothing_more(task, official_a, head_a, head_b, leader):
    done = make_assignment_for(task, official_a.unit, official_a, dt.date(2026, 6, 30))
    cancelled = make_assignment(task, head_b.unit, deadline=dt.date(2026, 6, 30))
    run_day(dt.date(2026, 6, 23))
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == 4  # 2 people × email, feed
    with at(dt.date(2026, 6, 24)):
        done.report_progress(by=official_a, percent=50)
        done.submit(by=official_a)
        done.accept(by=leader)
        cancelled.cancel(by=leader, reason="Không còn phù hợp")
    before = Delivery.objects.count()
    for day in (dt.date(2026, 6, 26), dt.date(2026, 6, 30), dt.date(2026, 7, 3), dt.date(2026, 7, 7)):
        run_day(day)
    assert Delivery.objects.count() == before
    assert done.status == Status.ACCEPTED and cancelled.status == Status.CANCELLED


def test_rows_of_work_closed_after_the_sweep_are_skipped_not_sent(assignment, official_a, leader):
    with at(dt.date(2026, 6, 23)):
        run_sweep()
        expand_all()  # what each sender does first (issue 14)
        assignment.cancel(by=leader, reason="Trùng nhiệm vụ")
        for recipient_id, channel in due_pairs():
            deliver(recipient_id, channel)
    assert mail.outbox == []
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SKIPPED}


def test_approved_extension_resets_the_schedule(assignment, official_a, leader):
    run_day(dt.date(2026, 6, 23))
    with at(dt.date(2026, 6, 24)):
        request = assignment.request_extension(by=official_a, requested_deadline=dt.date(2026, 7, 31), reason="Chờ vốn")
        request.decide(by=leader, approve=True)
    for day in days(dt.date(2026, 6, 25), dt.date(2026, 7, 10)):
        run_day(day)
    # Reminders only: the request and the decision are handoff notices of their own ("notice-…").
    reminders = Delivery.objects.filter(channel="feed").exclude(stage__startswith="notice-")
    assert list(reminders.values_list("stage", flat=True).order_by("day")) == ["before-7@2026-06-30"]
    run_day(dt.date(2026, 7, 24))
    assert Delivery.objects.filter(stage="before-7@2026-07-31", channel="feed").exists()


def test_one_digest_per_recipient_per_day(task, official_a, head_a, group, leader):
    from tasks_app.models import Task

    other = Task.objects.create(
        group=group,
        code="2026-01-02",
        number=2,
        title="Cắt giảm 50% thời gian giải quyết thủ tục",
        description="…",
        deliverable="Báo cáo",
        acceptance_criteria="Đạt 50%",
        authority=leader,
    )
    make_assignment_for(task, official_a.unit, official_a, dt.date(2026, 6, 30))
    make_assignment_for(other, official_a.unit, official_a, dt.date(2026, 6, 30))
    run_day(dt.date(2026, 6, 23))
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert "2026-01-01" in message.body and "2026-01-02" in message.body
    assert message.subject.startswith("[Nhắc việc] 2 nhiệm vụ")
    html = message.alternatives[0][0]
    assert "/assignments/" in html and "Sắp đến hạn" in html


def test_english_recipient_gets_english_email(task, commune_a, head_a):
    english = make_official("english-official", commune_a)
    english.language = "en"
    english.save()
    make_assignment_for(task, commune_a, english, dt.date(2026, 6, 30))
    run_day(dt.date(2026, 6, 23))
    assert mail.outbox[0].subject.startswith("[Reminder] 1 assignment")
    assert "7 day(s) left" in mail.outbox[0].body


def test_later_reminder_replaces_unread_feed_item(assignment, official_a):
    run_day(dt.date(2026, 6, 23))
    assert [(i.stage, i.read_at) for i in feed_for(official_a.user)] == [("before-7@2026-06-30", None)]
    run_day(dt.date(2026, 6, 26))
    items = list(feed_for(official_a.user))
    assert [(i.stage, i.read_at) for i in items] == [("before-3@2026-06-30", None)]
    items[0].mark_read()
    run_day(dt.date(2026, 6, 29))
    assert [i.stage for i in feed_for(official_a.user)] == ["before-1@2026-06-30", "before-3@2026-06-30"]
    assert FeedItem.objects.filter(read_at__isnull=True).count() == 1


def test_recipient_without_address_is_skipped_and_shown(assignment, official_a):
    official_a.user.email = ""
    official_a.user.save()
    run_day(dt.date(2026, 6, 23))
    # Issue 14: a channel without an address is one skipped digest (recipient, channel, day) with
    # the reason, shown in the admin's digests; it is never expanded into per-assignment rows.
    digests = {g.channel: g for g in DueDigest.objects.all()}
    assert digests["email"].status == DueDigest.Status.SKIPPED and "email" in digests["email"].skip_reason
    assert digests["zalo"].status == DueDigest.Status.SKIPPED and "Zalo" in digests["zalo"].skip_reason
    assert digests["email"].items == digests["zalo"].items == 1
    assert digests["feed"].status == DueDigest.Status.EXPANDED
    rows = {r.channel: r for r in Delivery.objects.all()}
    assert set(rows) == {"feed"} and rows["feed"].status == Delivery.Status.SENT
    assert mail.outbox == []


def test_plan_policy_overrides_default(assignment, plan):
    ReminderPolicy.objects.create(plan=plan, days_before=[14], channels=["feed"])
    run_day(dt.date(2026, 6, 16))
    assert list(Delivery.objects.values_list("stage", "channel")) == [("before-14@2026-06-30", "feed")]
    run_day(dt.date(2026, 6, 23))
    assert Delivery.objects.count() == 1


def test_a_province_default_policy_covers_its_plans_and_the_national_default_the_rest(assignment, plan, city):
    """A reminder policy belongs to a province: its default (no plan) governs that province's
    plans that have no policy of their own; the national default (neither) governs the rest."""
    from tasks_app.models import Plan, Task, TaskGroup, Unit

    plan.province = city
    plan.save()
    ReminderPolicy.objects.create(province=city, days_before=[14], channels=["feed"])
    ReminderPolicy.objects.create(days_before=[10], channels=["feed"])
    hanoi = Unit.objects.create(code="01", name="UBND thành phố Hà Nội", kind=Unit.Kind.CITY)
    commune = Unit.objects.create(code="00097", name="Phường Hồng Hà", kind=Unit.Kind.WARD, parent=hanoi)
    head = make_official("head-00097", commune, head=True)
    leader = make_official("leader-01", hanoi, role="leader")
    other_plan = Plan.objects.create(province=hanoi, year=2026, name="Kế hoạch Hà Nội")
    group = TaskGroup.objects.create(plan=other_plan, number=1, title="Nhóm 1")
    task = Task.objects.create(
        group=group, code="HN-01", number=1, title="T", description="D", deliverable="P",
        acceptance_criteria="A", default_deadline=dt.date(2026, 6, 30), authority=leader,
    )  # fmt: skip
    theirs = make_assignment_for(task, commune, head, dt.date(2026, 6, 30))
    run_day(dt.date(2026, 6, 16))
    assert set(Delivery.objects.values_list("assignment_id", "stage")) == {(assignment.pk, "before-14@2026-06-30")}
    run_day(dt.date(2026, 6, 19))  # 10 days before 30 June is a Saturday: the stage moves to Friday 19
    stages = set(Delivery.objects.filter(assignment=theirs).values_list("stage", flat=True))
    assert stages and all(s.startswith("before-10@") for s in stages)
