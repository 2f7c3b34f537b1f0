"""The pages: who sees what (every view), my work's order and filters, the task page, the dashboard."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from tasks_app.models import Assignment, Official
from tasks_app.status import Status, Timeliness
from tests.conftest import make_assignment
from tests.fixtures_web import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def both(assignment_a, assignment_b):
    return assignment_a, assignment_b


# --- signing in is required everywhere --------------------------------------------------------


@pytest.mark.parametrize(
    "name,args",
    [
        ("web:home", []),
        ("web:assignments", []),
        ("web:assignment", [1]),
        ("web:task", ["2026-01-01"]),
        ("web:dashboard", []),
        ("web:notifications", []),
        ("web:evidence-file", [1]),
        ("web:inspection-photo", [1]),
    ],
)
def test_anonymous_is_sent_to_sign_in(client, name, args):
    response = client.get(reverse(name, args=args))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("two_factor:login"))


def test_anonymous_cannot_post_an_action(client, assignment_a):
    url = reverse("web:assignment-action", args=[assignment_a.pk, "progress"])
    response = client.post(url, {"progress-version": 1, "progress-percent": 50})
    assert response.status_code == 302
    assignment_a.refresh_from_db()
    assert assignment_a.progress == 0


# --- my work ---------------------------------------------------------------------------------


def test_commune_official_sees_only_their_units_work(client, official_a, both):
    assignment_a, assignment_b = both
    response = sign_in(client, official_a).get(reverse("web:home"))
    assert response.status_code == 200
    rows = list(response.context["page"].object_list)
    assert rows == [assignment_a]
    assert reverse("web:assignment", args=[assignment_b.pk]) not in response.content.decode()


def test_my_work_lists_most_urgent_first_with_counts(client, official_a, task, commune_a, group, leader, time_machine):
    time_machine.move_to(dt.datetime(2026, 6, 10, 9, 0, tzinfo=dt.UTC))
    from tasks_app.models import Task

    def another(code, deadline, status):
        t = Task.objects.create(
            group=group, code=code, number=int(code[-2:]), title=f"Việc {code}", description="x",
            deliverable="d", acceptance_criteria="c", authority=leader,
        )  # fmt: skip
        return make_assignment(t, commune_a, deadline=deadline, status=status)

    later = another("T-01", dt.date(2026, 7, 30), Status.IN_PROGRESS)
    overdue = another("T-02", dt.date(2026, 6, 1), Status.IN_PROGRESS)
    soon = another("T-03", dt.date(2026, 6, 12), Status.ISSUED)
    waiting = another("T-04", dt.date(2026, 6, 30), Status.IN_PROGRESS)
    Assignment.objects.filter(pk=waiting.pk).update(
        status=Status.SUBMITTED, submitted_at=dt.datetime(2026, 6, 9, tzinfo=dt.UTC)
    )

    response = sign_in(client, official_a).get(reverse("web:home"))
    rows = list(response.context["page"].object_list)
    assert rows == [overdue, soon, later, waiting]
    assert rows[0].timeliness == Timeliness.OVERDUE
    counts = response.context["counts"]
    assert (counts["overdue"], counts["due_week"], counts["awaiting"], counts["open"]) == (1, 1, 1, 4)
    html = response.content.decode()
    assert 'class="badge t-in_progress_overdue">Đang thực hiện quá hạn<' in html
    assert "12/06/2026" in html  # dd/mm/yyyy in Vietnamese


def test_my_work_filters_by_status_search_group_and_role(client, official_a, task, commune_a, group, leader):
    from tasks_app.models import Task, TaskGroup

    other_group = TaskGroup.objects.create(plan=group.plan, number=2, title="Cải cách hành chính")
    t2 = Task.objects.create(
        group=other_group, code="2026-02-01", number=2, title="Cắt giảm thủ tục", description="x",
        deliverable="d", acceptance_criteria="c", authority=leader, default_deadline=dt.date(2026, 9, 30),
    )  # fmt: skip
    a1 = make_assignment(task, commune_a)
    a2 = make_assignment(t2, commune_a, role=Assignment.Role.COORDINATING, status=Status.IN_PROGRESS)
    sign_in(client, official_a)

    def listed(**params):
        return list(client.get(reverse("web:home"), params).context["page"].object_list)

    assert listed(status=Status.IN_PROGRESS) == [a2]
    assert listed(q="giải ngân") == [a1]
    assert listed(group=other_group.pk) == [a2]
    assert listed(role=Assignment.Role.COORDINATING) == [a2]
    # A bad filter value is shown as an error and ignored, never a 500.
    response = client.get(reverse("web:home"), {"status": "nonsense", "group": "x"})
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 2


def test_assignment_list_for_the_city_office_filters_by_unit_and_class(client, office, both):
    assignment_a, assignment_b = both
    sign_in(client, office)
    response = client.get(reverse("web:assignments"), {"unit": assignment_b.unit.code})
    assert list(response.context["page"].object_list) == [assignment_b]


def test_assignment_list_of_a_commune_never_shows_another_commune(client, official_a, both):
    assignment_a, assignment_b = both
    response = sign_in(client, official_a).get(reverse("web:assignments"), {"unit": assignment_b.unit.code})
    assert list(response.context["page"].object_list) == []


# --- assignment page -------------------------------------------------------------------------


def test_assignment_page_shows_the_six_clears(client, official_a, assignment_a):
    response = sign_in(client, official_a).get(reverse("web:assignment", args=[assignment_a.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    for text in ["Rõ người", "Rõ việc", "Rõ thời gian", "Rõ trách nhiệm", "Rõ sản phẩm", "Rõ thẩm quyền"]:
        assert text in html
    assert "Head A" in html and "City Leader" in html and "30/06/2026" in html
    assert "Tỷ lệ giải ngân đạt 100% kế hoạch vốn" in html
    # The unit reports and asks for time; only the authority's forms are absent.
    assert set(response.context["forms"]) == {"progress", "extension"}


def test_other_commune_gets_404_on_the_assignment_and_its_actions(client, head_b, assignment_a):
    sign_in(client, head_b)
    assert client.get(reverse("web:assignment", args=[assignment_a.pk])).status_code == 404
    for action in ["progress", "submit", "extension", "accept", "return", "cancel"]:
        url = reverse("web:assignment-action", args=[assignment_a.pk, action])
        assert client.post(url, {f"{action}-version": 1, f"{action}-percent": 10}).status_code == 404
    assignment_a.refresh_from_db()
    assert (assignment_a.status, assignment_a.version) == (Status.ISSUED, 1)


def test_the_authority_sees_decision_forms_and_the_unit_does_not(client, leader, official_a, assignment_a):
    Assignment.objects.filter(pk=assignment_a.pk).update(status=Status.SUBMITTED)
    page = sign_in(client, leader).get(reverse("web:assignment", args=[assignment_a.pk]))
    assert set(page.context["forms"]) == {"accept", "return", "cancel"}
    page = sign_in(client, official_a).get(reverse("web:assignment", args=[assignment_a.pk]))
    assert set(page.context["forms"]) == set()


def test_unknown_action_is_404(client, official_a, assignment_a):
    url = reverse("web:assignment-action", args=[assignment_a.pk, "delete"])
    assert sign_in(client, official_a).post(url).status_code == 404


def test_actions_accept_only_post(client, official_a, assignment_a):
    url = reverse("web:assignment-action", args=[assignment_a.pk, "progress"])
    assert sign_in(client, official_a).get(url).status_code == 405


# --- task page -------------------------------------------------------------------------------


def test_task_page_shows_every_unit_to_the_city_and_only_its_own_to_a_commune(client, leader, official_a, task, both):
    assignment_a, assignment_b = both
    response = sign_in(client, leader).get(reverse("web:task", args=[task.code]))
    assert response.status_code == 200
    assert {a.pk for a in response.context["assignments"]} == {assignment_a.pk, assignment_b.pk}
    response = sign_in(client, official_a).get(reverse("web:task", args=[task.code]))
    assert [a.pk for a in response.context["assignments"]] == [assignment_a.pk]


def test_task_page_of_work_the_commune_has_none_of_is_404(client, head_b, task, assignment_a):
    assert sign_in(client, head_b).get(reverse("web:task", args=[task.code])).status_code == 404
    assert client.get(reverse("web:task", args=["no-such-task"])).status_code == 404


# --- dashboard -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["official_a", "head_a", "head_b", "dept_head"])
def test_dashboard_is_forbidden_to_unit_officials(client, request, who, assignment_a):
    response = sign_in(client, request.getfixturevalue(who)).get(reverse("web:dashboard"))
    assert response.status_code == 403


def test_dashboard_counts_units_and_links_each_number(client, office, leader, task, both, time_machine):
    time_machine.move_to(dt.datetime(2026, 7, 5, 9, 0, tzinfo=dt.UTC))
    assignment_a, assignment_b = both
    Assignment.objects.filter(pk=assignment_a.pk).update(
        status=Status.ACCEPTED,
        submitted_at=dt.datetime(2026, 6, 20, tzinfo=dt.UTC),
        completed_at=dt.datetime(2026, 6, 20, tzinfo=dt.UTC),
    )
    response = sign_in(client, office).get(reverse("web:dashboard"))
    assert response.status_code == 200
    rows = {r["unit"].code: r for r in response.context["unit_rows"]}
    assert (rows["10507"]["assigned"], rows["10507"]["on_time"], rows["10507"]["overdue"]) == (1, 1, 0)
    assert (rows["10525"]["assigned"], rows["10525"]["on_time"], rows["10525"]["overdue"]) == (1, 0, 1)
    assert rows["SO-TC"]["assigned"] == 0
    # Sorted by most overdue first by default.
    assert response.context["unit_rows"][0]["unit"].code == "10525"
    # The overdue number of commune B links to exactly the assignments behind it.
    link = rows["10525"]["links"]["overdue"]
    listed = client.get(link).context["page"].object_list
    assert [a.pk for a in listed] == [assignment_b.pk]
    html = response.content.decode()
    assert "<svg" in html and "Hoàn thành đúng hạn: 1" in html
    assert [a.pk for a in response.context["most_overdue"]] == [assignment_b.pk]
    assert response.context["most_overdue"][0].days_overdue == 5


def test_dashboard_sorts_and_filters_units(client, office, both, department):
    sign_in(client, office)
    response = client.get(reverse("web:dashboard"), {"kind": "commune", "sort": "name"})
    names = [r["unit"].name for r in response.context["unit_rows"]]
    assert names == sorted(names) and "Sở Tài chính" not in names
    response = client.get(reverse("web:dashboard"), {"q": "Hải Dương"})
    assert [r["unit"].code for r in response.context["unit_rows"]] == ["10525"]
    assert client.get(reverse("web:dashboard"), {"sort": "'; drop table"}).status_code == 200


# --- notifications ---------------------------------------------------------------------------


def test_notifications_page_renders_for_an_official_and_a_user_without_one(client, official_a, db):
    assert sign_in(client, official_a).get(reverse("web:notifications")).status_code == 200
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.create_user("plain", "p@example.org", "pw"))
    response = client.get(reverse("web:notifications"))
    assert response.status_code == 200
    assert "Chưa có thông báo nhắc việc nào" in response.content.decode()


# --- what every page sends ---------------------------------------------------------------------


def test_pages_send_a_strict_csp_and_contain_no_inline_script(client, leader, assignment_a):
    sign_in(client, leader)
    for url in [
        reverse("web:home"),
        reverse("web:assignment", args=[assignment_a.pk]),
        reverse("web:dashboard"),
        reverse("web:task", args=[assignment_a.task.code]),
        reverse("two_factor:login"),
    ]:
        response = client.get(url)
        csp = response["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, url
        assert "frame-ancestors 'none'" in csp
        html = response.content.decode()
        scripts = re.findall(r"<script\b[^>]*>", html)
        assert scripts and all(" src=" in s for s in scripts), (url, scripts)
        assert not re.search(r"\son[a-z]+=", html), url  # no inline event handlers
        assert not re.search(r"\sstyle=", html), url  # no inline style either


def test_english_pages_are_translated(client, official_a, assignment_a):
    sign_in(client, official_a)
    client.cookies["django_language"] = "en"
    html = client.get(reverse("web:assignment", args=[assignment_a.pk])).content.decode()
    assert "Clear person" in html and "Report progress" in html
    assert "30/06/2026" in html


def test_a_user_without_an_official_sees_no_work(client, db, assignment_a):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.create_user("nobody", "n@example.org", "pw"))
    response = client.get(reverse("web:home"))
    assert response.status_code == 200
    assert list(response.context["page"].object_list) == []
    assert client.get(reverse("web:assignment", args=[assignment_a.pk])).status_code == 404


def test_a_city_leader_home_lists_what_awaits_their_decision(client, leader, both):
    assignment_a, _ = both
    Assignment.objects.filter(pk=assignment_a.pk).update(status=Status.SUBMITTED)
    response = sign_in(client, leader).get(reverse("web:home"))
    assert response.context["counts"]["awaiting"] == 1
    assert Official.objects.get(pk=leader.pk).role == Official.Role.LEADER


def test_filtering_with_htmx_returns_only_the_list(client, official_a, both):
    sign_in(client, official_a)
    response = client.get(reverse("web:home"), {"q": "giải ngân"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="results"') and "<html" not in html
    assert reverse("web:assignment", args=[both[0].pk]) in html


def test_inspection_photos_are_downloads_for_the_unit_and_404_for_another_commune(
    client, official_a, head_b, leader, assignment_a
):
    from django.core.files.base import ContentFile

    from tasks_app.models import Inspection, InspectionPhoto

    inspection = Inspection.objects.create(
        assignment=assignment_a, date=dt.date(2026, 5, 2), inspector=leader, findings="Đúng tiến độ"
    )
    photo = InspectionPhoto(inspection=inspection, caption="Công trường")
    photo.file.save("cong-truong.jpg", ContentFile(b"\xff\xd8\xff\xe0" + b"\x00" * 32), save=True)
    url = reverse("web:inspection-photo", args=[photo.pk])
    response = sign_in(client, official_a).get(url)
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment;")
    page = client.get(reverse("web:assignment", args=[assignment_a.pk])).content.decode()
    assert "Đúng tiến độ" in page and url in page
    assert sign_in(client, head_b).get(url).status_code == 404
