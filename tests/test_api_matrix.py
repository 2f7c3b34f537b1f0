"""Authorization matrix: every endpoint × {commune A key, commune B key, department key, portal key,
city leader session, anonymous} × {own object, other unit's object}.

Reads outside the caller's scope are 404 (no leak), visible-but-not-allowed writes are 403, and a
refused write changes nothing (same version, no new report, no new extension request).
"""

import datetime as dt

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from tasks_app.models import Assignment, Evidence, ExtensionRequest, ProgressReport
from tasks_app.status import Status
from tests.conftest import make_assignment

ACTORS = ["key_a", "key_b", "key_dept", "portal", "leader", "anonymous"]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def world(task, assignment_a, assignment_b, dept_head, key_a, key_b, key_dept, portal_key, leader_client):
    assignment_d = make_assignment(task, dept_head.unit, role=Assignment.Role.COORDINATING)
    clients = {
        "key_a": key_a.client(),
        "key_b": key_b.client(),
        "key_dept": key_dept.client(),
        "portal": portal_key.client(),
        "leader": leader_client,
        "anonymous": APIClient(),
    }
    own = {"key_a": assignment_a, "key_b": assignment_b, "key_dept": assignment_d}
    other = {"key_a": assignment_b, "key_b": assignment_a, "key_dept": assignment_a}
    return {
        "clients": clients,
        "own": lambda actor: own.get(actor, assignment_a),
        "other": lambda actor: other.get(actor, assignment_b),
        "all": [assignment_a, assignment_b, assignment_d],
    }


def sees(actor, assignment) -> bool:
    unit_of = {"key_a": "10507", "key_b": "10525", "key_dept": "SO-TC"}
    if actor in ("portal", "leader"):
        return True
    return unit_of.get(actor) == assignment.unit.code


def expected_unit_write(actor, assignment, created=201):
    """Progress, submit, extension request: only the assignment's own unit."""
    if actor == "anonymous":
        return 401
    if not sees(actor, assignment):
        return 404
    return created if actor.startswith("key_") else 403


def expected_authority_write(actor, assignment, created=201):
    """Accept, return, decide: only the authority (the city leader holds it for `task`)."""
    if actor == "anonymous":
        return 401
    if not sees(actor, assignment):
        return 404
    return created if actor == "leader" else 403


def expected_read(actor, assignment):
    if actor == "anonymous":
        return 401
    return 200 if sees(actor, assignment) else 404


def put_in(assignment, status):
    Assignment.objects.filter(pk=assignment.pk).update(
        status=status, submitted_at=dt.datetime(2026, 5, 1, tzinfo=dt.UTC) if status == Status.SUBMITTED else None
    )
    assignment.refresh_from_db()


def pending_extension(assignment):
    return ExtensionRequest.objects.create(
        assignment=assignment,
        requested_by_label="test",
        current_deadline=assignment.deadline,
        requested_deadline=assignment.deadline + dt.timedelta(days=30),
        reason="Chờ vốn",
    )


def evidence_file(assignment):
    report = ProgressReport.objects.create(
        assignment=assignment, kind="progress", status=assignment.status, percent=10, author_label="test"
    )
    item = Evidence(report=report, original_name="anh.png", content_type="image/png", size=len(PNG))
    item.file.save("anh.png", ContentFile(PNG), save=True)
    return item


def snapshot(assignment):
    assignment.refresh_from_db()
    return (
        assignment.version,
        assignment.status,
        assignment.deadline,
        assignment.reports.count(),
        assignment.extension_requests.count(),
        ExtensionRequest.objects.filter(assignment=assignment).exclude(status="pending").count(),
    )


# (name, state before, method, path, body, expected(actor, assignment))
WRITES = [
    ("progress", Status.ISSUED, "progress/", {"percent": 30, "note": "Đã khởi công"}, expected_unit_write),
    ("submit", Status.IN_PROGRESS, "submit/", {"note": "Nộp báo cáo"}, expected_unit_write),
    (
        "extension-request",
        Status.ISSUED,
        "extension-requests/",
        {"requested_deadline": "2026-09-30", "reason": "Chờ bố trí vốn"},
        expected_unit_write,
    ),
    ("accept", Status.SUBMITTED, "accept/", {"note": "Đạt"}, expected_authority_write),
    ("return", Status.SUBMITTED, "return/", {"reason": "Thiếu số liệu quý II"}, expected_authority_write),
]


@pytest.mark.django_db
@pytest.mark.parametrize("which", ["own", "other"])
@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("write", WRITES, ids=[w[0] for w in WRITES])
def test_assignment_write_matrix(world, actor, which, write):
    name, state, suffix, body, expected = write
    assignment = world[which](actor)
    put_in(assignment, state)
    before = snapshot(assignment)
    others_before = [snapshot(a) for a in world["all"] if a.pk != assignment.pk]

    response = world["clients"][actor].post(f"/api/v1/assignments/{assignment.pk}/{suffix}", body, format="json")

    want = expected(actor, assignment)
    assert response.status_code == want, response.content
    if want >= 400:
        assert snapshot(assignment) == before, "a refused write changed the assignment"
    else:
        assert snapshot(assignment) != before
    # No write ever touches another assignment.
    assert [snapshot(a) for a in world["all"] if a.pk != assignment.pk] == others_before


@pytest.mark.django_db
@pytest.mark.parametrize("which", ["own", "other"])
@pytest.mark.parametrize("actor", ACTORS)
def test_extension_decide_matrix(world, actor, which):
    assignment = world[which](actor)
    extension = pending_extension(assignment)
    before = snapshot(assignment)

    response = world["clients"][actor].post(
        f"/api/v1/extension-requests/{extension.pk}/decide/", {"approve": True, "note": "Đồng ý"}, format="json"
    )

    want = expected_authority_write(actor, assignment, created=200)
    assert response.status_code == want, response.content
    extension.refresh_from_db()
    if want == 200:
        assert extension.status == ExtensionRequest.Status.APPROVED
        assert response.json()["status"] == "approved"
    else:
        assert extension.status == ExtensionRequest.Status.PENDING
        assert snapshot(assignment) == before


READS = [
    ("assignment", lambda a: f"/api/v1/assignments/{a.pk}/"),
    ("reports", lambda a: f"/api/v1/assignments/{a.pk}/reports/"),
    ("extension-request", lambda a: f"/api/v1/extension-requests/{pending_extension(a).pk}/"),
    ("evidence-download", lambda a: f"/api/v1/evidence/{evidence_file(a).pk}/download/"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("which", ["own", "other"])
@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("read", READS, ids=[r[0] for r in READS])
def test_object_read_matrix(world, actor, which, read):
    assignment = world[which](actor)
    response = world["clients"][actor].get(read[1](assignment))
    assert response.status_code == expected_read(actor, assignment), response.content
    if response.status_code == 200 and read[0] == "evidence-download":
        assert response["Content-Disposition"].startswith("attachment")
        assert b"".join(response.streaming_content) == PNG
    if response.status_code == 404:
        # Nothing of the hidden object comes back, not even its task's title.
        assert assignment.task.title.encode() not in response.content


LISTS = ["/api/v1/assignments/", "/api/v1/extension-requests/"]


@pytest.mark.django_db
@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("path", LISTS)
def test_lists_show_only_visible_objects(world, actor, path):
    for assignment in world["all"]:
        pending_extension(assignment)
    response = world["clients"][actor].get(path)
    if actor == "anonymous":
        assert response.status_code == 401
        return
    assert response.status_code == 200
    rows = response.json()["results"]
    seen = {row["id"] if path.startswith("/api/v1/assignments") else row["assignment"] for row in rows}
    assert seen == {a.pk for a in world["all"] if sees(actor, a)}


@pytest.mark.django_db
@pytest.mark.parametrize("actor", ACTORS)
def test_task_detail_carries_only_visible_assignments(world, actor, task):
    response = world["clients"][actor].get(f"/api/v1/tasks/{task.code}/")
    if actor == "anonymous":
        assert response.status_code == 401
        return
    assert response.status_code == 200
    assert {a["id"] for a in response.json()["assignments"]} == {a.pk for a in world["all"] if sees(actor, a)}


@pytest.mark.django_db
@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("path", ["/api/v1/units/", "/api/v1/units/10507/", "/api/v1/units/10525/", "/api/v1/tasks/"])
def test_directory_reads_need_authentication_only(world, actor, path):
    response = world["clients"][actor].get(path)
    assert response.status_code == (401 if actor == "anonymous" else 200)


@pytest.mark.django_db
@pytest.mark.parametrize("actor", ACTORS)
def test_webhooks_belong_to_the_key_that_registered_them(world, actor, key_b):
    foreign = key_b.client().post(
        "/api/v1/webhooks/",
        {"url": "https://b.example.org/hook", "events": ["assignment.status_changed"]},
        format="json",
    )
    assert foreign.status_code == 201
    client = world["clients"][actor]

    created = client.post(
        "/api/v1/webhooks/",
        {"url": "https://x.example.org/hook", "events": ["assignment.progress_reported"]},
        format="json",
    )
    other = client.get(f"/api/v1/webhooks/{foreign.json()['id']}/")
    deleted = client.delete(f"/api/v1/webhooks/{foreign.json()['id']}/")

    if actor == "anonymous":
        assert (created.status_code, other.status_code, deleted.status_code) == (401, 401, 401)
    elif actor == "leader":  # webhooks belong to keys; a session cannot register one
        assert (created.status_code, other.status_code, deleted.status_code) == (403, 403, 403)
    else:
        assert created.status_code == 201 and created.json()["secret"].startswith("whsec_")
        expected_other = 200 if actor == "key_b" else 404
        assert other.status_code == expected_other
        assert deleted.status_code == (204 if actor == "key_b" else 404)


def _other_areas_collection_endpoints():
    """GET endpoints other areas mount under /api/v1/ (reminders, KPI, indicators) once they exist."""
    mine = {"units", "tasks", "assignments", "extension-requests", "webhooks", "evidence"}
    found = []

    def walk(patterns, prefix):
        for p in patterns:
            route = prefix + str(p.pattern).lstrip("^").rstrip("$")
            if isinstance(p, URLResolver):
                walk(p.url_patterns, route)
            elif isinstance(p, URLPattern) and route.startswith("api/v1/") and "<" not in route and "(?P" not in route:
                first = route.removeprefix("api/v1/").split("/")[0]
                if first and first not in mine and not route.endswith(".(?P<format>[a-z0-9]+)/?"):
                    found.append("/" + route)

    walk(get_resolver().url_patterns, "")
    return sorted(set(found))


@pytest.mark.django_db
@pytest.mark.parametrize("actor", ACTORS)
def test_other_areas_api_endpoints_use_key_auth(world, actor):
    endpoints = _other_areas_collection_endpoints()
    if not endpoints:
        pytest.skip("no reminder/KPI endpoints mounted yet")
    for path in endpoints:
        response = world["clients"][actor].get(path)
        if actor == "anonymous":
            assert response.status_code == 401, path
        else:
            assert response.status_code in (200, 400), (path, response.status_code, response.content[:300])


# --- field inspections (issue 16) -----------------------------------------------------------------


def expected_inspection(actor, assignment):
    """Recording an inspection: the city office, leaders, the authority and inspectors, as people
    (a key of any kind may not), and never the unit itself."""
    if actor == "anonymous":
        return 401
    if not sees(actor, assignment):
        return 404
    return 201 if actor == "leader" else 403


@pytest.mark.django_db
@pytest.mark.parametrize("which", ["own", "other"])
@pytest.mark.parametrize("actor", ACTORS)
def test_inspection_matrix(world, actor, which):
    assignment = world[which](actor)
    before = (snapshot(assignment), assignment.inspections.count(), Assignment.objects.count())
    client = world["clients"][actor]
    path = f"/api/v1/assignments/{assignment.pk}/inspections/"
    body = {"date": "2026-05-20", "findings": "Công trình thi công đúng tiến độ.", "conclusion": "passed"}

    with time_machine.travel(dt.datetime(2026, 5, 21, 3, tzinfo=dt.UTC), tick=False):
        response = client.post(path, body, format="json")

    want = expected_inspection(actor, assignment)
    assert response.status_code == want, response.content
    if want == 201:
        assert response.json()["inspector"]["id"] == assignment.authority_id
    else:
        assert (snapshot(assignment), assignment.inspections.count(), Assignment.objects.count()) == before
    assert client.get(path).status_code == expected_read(actor, assignment)


@pytest.mark.django_db
@pytest.mark.parametrize("session", ["unit_head", "unit_official", "other_head", "office", "inspector", "dept_head"])
def test_inspection_matrix_for_people(world, session, head_a, official_a, head_b, office, dept_head, commune_a):
    """A unit never inspects its own work (403); another commune does not see it (404); the city office
    and an inspector (Thanh tra) may; a department that is not the authority does not see it (404)."""
    from tasks_app.models import Official, Unit
    from tests.conftest import make_official

    inspection_unit = Unit.objects.create(
        code="TTR-TP", name="Thanh tra thành phố", kind=Unit.Kind.DEPARTMENT, parent=commune_a.parent
    )
    inspector = make_official("inspector", inspection_unit, role=Official.Role.INSPECTOR)
    people = {
        "unit_head": (head_a, 403),
        "unit_official": (official_a, 403),
        "other_head": (head_b, 404),
        "office": (office, 201),
        "inspector": (inspector, 201),
        "dept_head": (dept_head, 404),
    }
    person, want = people[session]
    assignment = world["own"]("key_a")
    assert assignment.unit == commune_a
    client = APIClient()
    client.force_login(person.user)
    body = {"date": "2026-05-20", "findings": "Kiểm tra hiện trường.", "conclusion": "failed"}
    with time_machine.travel(dt.datetime(2026, 5, 21, 3, tzinfo=dt.UTC), tick=False):
        response = client.post(f"/api/v1/assignments/{assignment.pk}/inspections/", body, format="json")
    assert response.status_code == want, response.content
    assert assignment.inspections.count() == (1 if want == 201 else 0)
