"""'Việc chờ tôi' (/inbox/): what waits for each official, oldest first with the days waited, the
count in every page's menu, the city office's view by authority, and a constant query count."""

import datetime as dt
import re
import zoneinfo

import pytest
import time_machine
from django.urls import reverse

from tasks_app import inbox
from tasks_app.lifecycle import Status
from tests.conftest import make_assignment, make_official
from tests.fixtures_web import sign_in

pytestmark = pytest.mark.django_db
HCM = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")


def at(day: int, hour: int = 9):
    return time_machine.travel(dt.datetime(2026, 6, day, hour, tzinfo=HCM), tick=False)


def menu_count(response) -> int:
    match = re.search(rb'data-inbox-count="(\d*)"', response.content)
    assert match, "the menu has no inbox link"
    return int(match.group(1) or 0)


@pytest.fixture
def loop(task, head_a, head_b, leader):
    """A submitted on 1 June, B asks for more time on 3 June; both wait for the leader."""
    a = make_assignment(task, head_a.unit, deadline=dt.date(2026, 6, 30))
    b = make_assignment(task, head_b.unit, deadline=dt.date(2026, 6, 30))
    with at(1):
        a.report_progress(by=head_a, percent=100)
        a.submit(by=head_a, note="Báo cáo")
    with at(3):
        b.request_extension(by=head_b, requested_deadline=dt.date(2026, 7, 31), reason="Chờ vốn bổ sung")
    return a, b


def test_authority_sees_submissions_and_extension_requests_oldest_first_with_days_waited(client, loop, leader):
    a, b = loop
    sign_in(client, leader)
    with at(10):
        response = client.get(reverse("web:inbox"))
    assert response.status_code == 200
    items = response.context["queues"].decide.items
    assert [(i.kind, i.assignment.pk, i.days) for i in items] == [("submitted", a.pk, 9), ("extension", b.pk, 7)]
    text = response.content.decode()
    assert "Đã chờ 9 ngày" in text and "Đã chờ 7 ngày" in text and "Chờ vốn bổ sung" in text
    assert menu_count(response) == 2


def test_unit_sees_return_with_reason_decided_extension_and_overdue_work(client, loop, task, head_a, head_b, leader):
    a, b = loop
    with at(5):
        a.return_(by=leader, reason="Thiếu phụ lục số liệu")
        b.extension_requests.get().decide(by=leader, approve=False, note="Không đủ căn cứ")
    sign_in(client, head_a)
    with at(6):
        response = client.get(reverse("web:inbox"))
    [item] = response.context["queues"].unit.items
    assert (item.kind, item.note, item.days) == ("returned", "Thiếu phụ lục số liệu", 1)
    assert "Thiếu phụ lục số liệu" in response.content.decode()
    assert menu_count(response) == 1
    # B: its rejected extension, and once past the deadline, its overdue work too.
    sign_in(client, head_b)
    with at(12):
        response = client.get(reverse("web:inbox"))
    assert [(i.kind, i.note) for i in response.context["queues"].unit.items] == [("decided", "Không đủ căn cứ")]
    with time_machine.travel(dt.datetime(2026, 7, 4, 9, tzinfo=HCM), tick=False):
        response = client.get(reverse("web:inbox"))
        kinds = [(i.kind, i.days) for i in response.context["queues"].unit.items]
    assert kinds == [("overdue", 4)]  # the decision is older than the window by now
    assert menu_count(response) == 1


def test_nothing_of_another_commune_or_authority(client, loop, head_b, task, department, leader):
    other_authority = make_official("dept-deputy", department, position="Phó Giám đốc")
    sign_in(client, other_authority)
    with at(10):
        response = client.get(reverse("web:inbox"))
    assert response.context["queues"].total == 0 and menu_count(response) == 0
    assert "Không có sản phẩm hay đề nghị gia hạn nào chờ bạn quyết định" in response.content.decode()
    # B sees its own pending request nowhere in a decision queue and not A's submission.
    sign_in(client, head_b)
    with at(10):
        response = client.get(reverse("web:inbox"))
    assert response.context["queues"].decide.total == 0 and response.context["queues"].unit.total == 0


def test_city_office_sees_every_authoritys_queue(client, loop, office, leader, dept_head, group):
    from tasks_app.models import Task

    other_task = Task.objects.create(
        group=group, code="2026-01-02", number=2, title="Khác", description="x", deliverable="d",
        acceptance_criteria="c", default_deadline=dt.date(2026, 6, 30), authority=dept_head,
    )  # fmt: skip
    c = make_assignment(
        other_task, loop[0].unit, status=Status.SUBMITTED, submitted_at=dt.datetime(2026, 6, 2, tzinfo=dt.UTC)
    )
    sign_in(client, office)
    with at(10):
        response = client.get(reverse("web:inbox"))
    queues = response.context["queues"]
    by = {row["authority"].pk: (row["submitted"], row["extensions"], row["days"]) for row in queues.by_authority}
    assert by == {leader.pk: (1, 1, 9), dept_head.pk: (1, 0, 8)}
    assert [i.assignment.pk for i in queues.city.items] == [loop[0].pk, c.pk, loop[1].pk]
    assert queues.total == 3 and menu_count(response) == 3


def test_every_page_shows_the_count(client, loop, leader):
    sign_in(client, leader)
    with at(10):
        for name in ("web:home", "web:assignments", "web:notifications", "web:dashboard"):
            assert menu_count(client.get(reverse(name))) == 2, name


def test_inbox_costs_the_same_with_2_and_60_waiting(client, task, group, leader, head_a, commune_a,
                                                    django_assert_num_queries):  # fmt: skip
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.fixtures_web import make_many

    make_many(group, [commune_a], 2, authority=leader, code_prefix="S")
    small = {}
    for who in (leader, head_a):
        sign_in(client, who)
        client.get(reverse("web:inbox"))
        with CaptureQueriesContext(connection) as queries:
            client.get(reverse("web:inbox"))
        small[who.pk] = len(queries)
    make_many(group, [commune_a], 60, authority=leader, code_prefix="L")
    for who in (leader, head_a):
        sign_in(client, who)
        with django_assert_num_queries(small[who.pk]):
            response = client.get(reverse("web:inbox"))
        assert response.context["queues"].total > 5
    # The count alone is two queries.
    with django_assert_num_queries(2):
        inbox.counts(leader.user)
