"""Giving a task from the web (/tasks/new/) and the API (POST /api/v1/tasks/): the six clears
through the lifecycle's one rule, fan-out to every commune of the province, the source document."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.urls import reverse

from tasks_app.lifecycle import Clear
from tasks_app.models import Assignment, Official, SourceDocument, Task, Unit
from tasks_app.status import Status
from tests.conftest import make_official
from tests.fixtures_web import sign_in

pytestmark = pytest.mark.django_db

DEADLINE = dt.date(2026, 12, 15)


def complete_form(group, leader, *units, **overrides):
    data = {
        "group": group.pk,
        "title": "Rà soát trụ sở dôi dư",
        "description": "Lập danh mục trụ sở, nhà đất dôi dư sau sắp xếp và phương án xử lý.",
        "deliverable": "Báo cáo danh mục và phương án xử lý",
        "acceptance_criteria": "Đủ 100% cơ sở nhà đất dôi dư",
        "deadline": DEADLINE.isoformat(),
        "authority": leader.pk,
        "target": "units",
        "units": [u.pk for u in units],
        "role": Assignment.Role.LEAD,
        "doc_number": "125/TB-UBND",
        "doc_date": "2026-11-05",
        "doc_issuer": "UBND thành phố Hải Phòng",
        "doc_summary": "Kết luận của Chủ tịch UBND thành phố tại phiên họp thường kỳ tháng 11/2026",
        "action": "issue",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def office_client(client, office):
    return sign_in(client, office, verified=True)


def test_office_gives_a_task_to_two_units_with_its_source_document(office_client, group, leader, head_a, head_b):
    response = office_client.post(reverse("web:task-new"), complete_form(group, leader, head_a.unit, head_b.unit))
    assert response.status_code == 302, response.content.decode()[:2000]
    task = Task.objects.get(title="Rà soát trụ sở dôi dư")
    assert response["Location"] == reverse("web:task", args=[task.code])
    assert task.code == "2026-01-01"
    document = task.source_document
    assert (document.number, document.date, document.issuer) == (
        "125/TB-UBND",
        dt.date(2026, 11, 5),
        "UBND thành phố Hải Phòng",
    )
    rows = Assignment.objects.filter(task=task).order_by("unit__code")
    assert [(a.unit.code, a.status, a.responsible_id, a.deadline) for a in rows] == [
        ("10507", Status.ISSUED, head_a.pk, DEADLINE),
        ("10525", Status.ISSUED, head_b.pk, DEADLINE),
    ]
    assert all(a.missing_clears() == [] and a.original_deadline == DEADLINE for a in rows)


# Each clear left out in turn, the field that carries it, and the clears the lifecycle then names.
MISSING = [
    ("person", {}, {Clear.PERSON, Clear.RESPONSIBILITY}),  # a unit without a head: nobody answers
    ("task", {"description": ""}, {Clear.TASK}),
    ("time", {"deadline": ""}, {Clear.TIME}),
    ("responsibility", {"role": ""}, {Clear.RESPONSIBILITY}),
    ("deliverable", {"acceptance_criteria": ""}, {Clear.DELIVERABLE}),
    ("authority", {"authority": ""}, {Clear.AUTHORITY}),
]


@pytest.mark.parametrize("clear,overrides,named", MISSING, ids=[m[0] for m in MISSING])
def test_form_refuses_to_issue_with_each_clear_missing_and_shows_which(
    office_client, group, leader, head_a, city, clear, overrides, named
):
    unit = head_a.unit
    if clear == "person":
        unit = Unit.objects.create(code="11001", name="Xã Không Đầu", kind=Unit.Kind.COMMUNE, parent=city)
    response = office_client.post(reverse("web:task-new"), complete_form(group, leader, unit, **overrides))
    assert response.status_code == 400
    page = response.content.decode()
    for c in Clear:
        marker = f'class="clear-missing" data-clear="{c.key}"' if c in named else f'data-clear="{c.key}"'
        assert marker in page, (c, page[:3000])
        if c not in named:
            assert f'class="clear-missing" data-clear="{c.key}"' not in page
        # The refusal itself names each missing clear, in the lifecycle's words.
        assert (c.message in page) == (c in named)
    assert not Task.objects.exists() and not Assignment.objects.exists() and not SourceDocument.objects.exists()


def test_an_incomplete_task_is_saved_as_a_draft_that_names_its_missing_clears(office_client, group, leader, head_a):
    data = complete_form(group, leader, head_a.unit, deadline="", action="draft")
    response = office_client.post(reverse("web:task-new"), data)
    assert response.status_code == 302
    assignment = Assignment.objects.get()
    assert assignment.status == Status.DRAFT
    assert assignment.missing_clears() == [Clear.TIME]


def test_the_clears_panel_follows_what_is_typed(office_client, group, leader, head_a):
    url = reverse("web:task-clears")
    empty = office_client.post(url, {"group": group.pk}, HTTP_HX_REQUEST="true").content.decode()
    assert empty.count('class="clear-missing"') == 6
    full = office_client.post(url, complete_form(group, leader, head_a.unit)).content.decode()
    assert 'class="clear-missing"' not in full and full.count('class="clear-ok"') == 6
    no_deadline = office_client.post(url, complete_form(group, leader, head_a.unit, deadline="")).content.decode()
    assert no_deadline.count('class="clear-missing"') == 1 and 'data-clear="time"' in no_deadline


def test_fan_out_from_the_form_reaches_every_commune_of_the_province(client, group, django_assert_max_num_queries):
    call_command("load_haiphong", verbosity=0)
    office = Official.objects.get(user__username="city-office")
    leader = Official.objects.get(user__username="city-leader")
    # A commune of another province is not the city office's to give work to.
    other = Unit.objects.create(code="01", name="UBND thành phố Hà Nội", kind=Unit.Kind.CITY)
    outsider = Unit.objects.create(code="00004", name="Phường Ba Đình", kind=Unit.Kind.WARD, parent=other)
    make_official("head-00004", outsider, head=True)
    sign_in(client, office, verified=True)
    data = complete_form(group, leader, target="communes", units=None)
    with django_assert_max_num_queries(40):
        response = client.post(reverse("web:task-new"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    task = Task.objects.get()
    communes = Unit.objects.filter(kind__in=Unit.COMMUNE_LEVEL, parent__code="31")
    assert communes.count() == 114
    rows = Assignment.objects.filter(task=task)
    assert rows.count() == 114
    assert set(rows.values_list("unit_id", flat=True)) == set(communes.values_list("pk", flat=True))
    assert not rows.filter(unit=outsider).exists()
    assert set(rows.values_list("status", flat=True)) == {Status.ISSUED}


def test_a_unit_head_without_authority_may_not_give_tasks(client, group, head_a):
    sign_in(client, head_a)
    assert client.get(reverse("web:task-new")).status_code == 403
    assert client.post(reverse("web:task-new"), {"group": group.pk}).status_code == 403
    assert not Task.objects.exists()


def test_an_authority_gives_tasks_only_under_their_own_authority(client, group, task, leader, head_a, dept_head):
    # dept_head holds authority over one task: the form is theirs, but not to give work in the leader's name.
    Task.objects.filter(pk=task.pk).update(authority=dept_head)
    sign_in(client, dept_head, verified=True)
    assert client.get(reverse("web:task-new")).status_code == 200
    response = client.post(reverse("web:task-new"), complete_form(group, leader, head_a.unit, code="X-1"))
    assert response.status_code == 403
    response = client.post(reverse("web:task-new"), complete_form(group, dept_head, head_a.unit, code="X-2"))
    assert response.status_code == 302
    assert Task.objects.get(code="X-2").authority == dept_head


# --- the API -------------------------------------------------------------------------------------


def api_body(group, leader, *codes, **overrides):
    body = {
        "group": group.pk,
        "title": "Chấm dứt tình trạng nhiệm vụ chậm tiến độ",
        "description": "Rà soát và hoàn thành các nhiệm vụ quá hạn theo kết luận phiên họp tháng 11.",
        "deliverable": "Báo cáo kết quả",
        "acceptance_criteria": "Không còn nhiệm vụ quá hạn",
        "deadline": "2026-12-31",
        "authority": leader.pk,
        "units": list(codes),
        "role": "lead",
        "source_document": {
            "number": "125/TB-UBND",
            "date": "2026-11-05",
            "issuer": "UBND thành phố Hải Phòng",
            "summary": "Kết luận phiên họp thường kỳ tháng 11/2026",
        },
        "issue": True,
    }
    body.update(overrides)
    return body


def test_a_task_created_through_the_api_carries_its_source_document(leader_client, group, leader, head_a, head_b):
    response = leader_client.post(
        "/api/v1/tasks/", api_body(group, leader, head_a.unit.code, head_b.unit.code), format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["source_document"] == {
        "id": SourceDocument.objects.get().pk,
        "number": "125/TB-UBND",
        "date": "2026-11-05",
        "issuer": "UBND thành phố Hải Phòng",
        "summary": "Kết luận phiên họp thường kỳ tháng 11/2026",
    }
    assert sorted((a["unit"], a["status"]) for a in body["assignments"]) == [
        ("10507", "issued"),
        ("10525", "issued"),
    ]
    # Read back, and filtered by its source document.
    again = leader_client.get(f"/api/v1/tasks/{body['code']}/").json()
    assert again["source_document"]["number"] == "125/TB-UBND"
    listed = leader_client.get(f"/api/v1/tasks/?source_document={body['source_document']['id']}").json()
    assert [t["code"] for t in listed["results"]] == [body["code"]]
    assignments = leader_client.get(f"/api/v1/assignments/?source_document={body['source_document']['id']}").json()
    assert assignments["count"] == 2


def test_the_api_refuses_to_issue_without_a_clear_with_the_same_error(leader_client, group, leader, head_a):
    response = leader_client.post(
        "/api/v1/tasks/", api_body(group, leader, head_a.unit.code, deadline=None), format="json"
    )
    assert response.status_code == 400
    assert response.json()["non_field_errors"] == [Clear.TIME.message]
    assert not Task.objects.exists() and not SourceDocument.objects.exists()


def test_unit_and_portal_keys_may_not_give_tasks(key_a, portal_key, group, leader, head_a):
    for key in (key_a, portal_key):
        response = key.client().post("/api/v1/tasks/", api_body(group, leader, head_a.unit.code), format="json")
        assert response.status_code == 403
    assert not Task.objects.exists()


# --- one click: the tasks of one directive, or of one plan ----------------------------------------


def test_lists_and_the_dashboard_filter_by_source_document_and_plan(office_client, group, leader, head_a, head_b):
    from tasks_app.models import Plan, TaskGroup

    office_client.post(reverse("web:task-new"), complete_form(group, leader, head_a.unit, head_b.unit))
    other_plan = Plan.objects.create(year=2027, name="Kế hoạch năm 2027")
    other_group = TaskGroup.objects.create(plan=other_plan, number=1, title="Nhóm khác")
    office_client.post(
        reverse("web:task-new"),
        complete_form(other_group, leader, head_a.unit, doc_number="", title="Nhiệm vụ khác", code="2027-X"),
    )
    document = SourceDocument.objects.get()
    listed = office_client.get(reverse("web:assignments"), {"source_document": document.pk})
    assert listed.status_code == 200
    assert listed.context["page"].paginator.count == 2
    assert {a.task.source_document_id for a in listed.context["page"]} == {document.pk}
    by_plan = office_client.get(reverse("web:assignments"), {"plan": other_plan.pk})
    assert [a.task.code for a in by_plan.context["page"]] == ["2027-X"]

    board = office_client.get(reverse("web:dashboard"), {"source_document": document.pk})
    assert board.context["total"] == 2
    # Every number links to the list with the same filter, so the list adds up to it.
    assert all(f"source_document={document.pk}" in c["url"] for c in board.context["classes"])
    assert office_client.get(reverse("web:dashboard"), {"plan": other_plan.pk}).context["total"] == 1
