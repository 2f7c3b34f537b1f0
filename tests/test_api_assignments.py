"""Assignments over the API: filters, pagination, constant query counts, ETag/If-Match, the
deliverable workflow, extension requests, evidence files, and bad input that changes nothing."""

import datetime as dt

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tasks_app.models import Assignment, Evidence, ExtensionRequest, Task, Unit
from tasks_app.status import Status
from tests import files
from tests.conftest import make_assignment

pytestmark = pytest.mark.django_db

PNG = files.png()
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def many_tasks(group, leader):
    """150 tasks, each assigned to commune A, with mixed deadlines and statuses."""
    tasks = Task.objects.bulk_create(
        Task(
            group=group,
            code=f"T-{n:03}",
            number=100 + n,
            title=f"Nhiệm vụ số {n}",
            description="Nội dung",
            deliverable="Báo cáo",
            acceptance_criteria="Đạt",
            default_deadline=dt.date(2026, 1, 1) + dt.timedelta(days=n),
            authority=leader,
        )
        for n in range(150)
    )
    return tasks


@pytest.fixture
def many_assignments(many_tasks, head_a):
    return Assignment.objects.bulk_create(
        Assignment(
            task=t,
            unit=head_a.unit,
            role=Assignment.Role.LEAD,
            responsible=head_a,
            deadline=t.default_deadline,
            original_deadline=t.default_deadline,
            authority_id=t.authority_id,
            status=Status.ISSUED if n % 2 else Status.IN_PROGRESS,
        )
        for n, t in enumerate(many_tasks)
    )


def ids(response):
    return [row["id"] for row in response.json()["results"]]


def test_list_query_count_is_the_same_at_page_size_1_and_100(key_a, many_assignments, django_assert_num_queries):
    client = key_a.client()
    client.get("/api/v1/assignments/?page_size=1")  # records last_used_at once, outside the count
    with CaptureQueriesContext(connection) as small:
        r1 = client.get("/api/v1/assignments/?page_size=1")
    with django_assert_num_queries(len(small.captured_queries)):
        r100 = client.get("/api/v1/assignments/?page_size=100")
    assert len(r1.json()["results"]) == 1 and len(r100.json()["results"]) == 100
    assert len(small.captured_queries) <= 3  # key, count, page


def test_session_list_query_count_is_constant(leader_client, many_assignments, django_assert_num_queries):
    leader_client.get("/api/v1/assignments/?page_size=1")
    with CaptureQueriesContext(connection) as small:
        leader_client.get("/api/v1/assignments/?page_size=1")
    with django_assert_num_queries(len(small.captured_queries)):
        response = leader_client.get("/api/v1/assignments/?page_size=100")
    assert len(response.json()["results"]) == 100


def test_other_lists_query_count_is_constant(key_a, many_assignments, django_assert_num_queries):
    client = key_a.client()
    for assignment in many_assignments[:120]:
        ExtensionRequest.objects.create(
            assignment=assignment,
            requested_by_label="x",
            current_deadline=assignment.deadline,
            requested_deadline=assignment.deadline + dt.timedelta(days=9),
            reason="r",
        )
    for path in ["/api/v1/tasks/", "/api/v1/units/", "/api/v1/extension-requests/"]:
        client.get(f"{path}?page_size=1")
        with CaptureQueriesContext(connection) as small:
            client.get(f"{path}?page_size=1")
        with django_assert_num_queries(len(small.captured_queries)):
            client.get(f"{path}?page_size=100")


def test_page_size_is_capped_at_100(key_a, many_assignments):
    response = key_a.client().get("/api/v1/assignments/?page_size=1000")
    assert response.json()["count"] == 150 and len(response.json()["results"]) == 100


def test_default_order_is_by_deadline(key_a, many_assignments):
    rows = key_a.client().get("/api/v1/assignments/?page_size=100").json()["results"]
    deadlines = [row["deadline"] for row in rows]
    assert deadlines == sorted(deadlines)


def test_filters(key_a, many_assignments, assignment_a, task):
    client = key_a.client()
    assert client.get("/api/v1/assignments/?status=issued").json()["count"] == 75 + 1
    assert client.get("/api/v1/assignments/?due_before=2026-01-10").json()["count"] == 10
    assert client.get("/api/v1/assignments/?due_after=2026-05-30&due_before=2026-05-30").json()["count"] == 1
    assert ids(client.get("/api/v1/assignments/?search=Giải ngân")) == [assignment_a.pk]
    assert ids(client.get("/api/v1/assignments/?task=2026-01-01")) == [assignment_a.pk]
    assert client.get("/api/v1/assignments/?unit=10507").json()["count"] == 151
    assert client.get("/api/v1/assignments/?unit=10525").json()["count"] == 0  # another unit: nothing leaks
    assert client.get("/api/v1/assignments/?role=coordinating").json()["count"] == 0
    assert client.get(f"/api/v1/assignments/?plan={task.group.plan_id}").json()["count"] == 151
    assert client.get(f"/api/v1/assignments/?group={task.group_id}").json()["count"] == 151
    assert client.get("/api/v1/assignments/?group=999999").json()["count"] == 0


def test_timeliness_filter_matches_the_serialized_class(key_a, many_assignments):
    client = key_a.client()
    with time_machine.travel(dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC), tick=False):
        overdue = client.get("/api/v1/assignments/?timeliness=in_progress_overdue&page_size=100").json()
        not_due = client.get("/api/v1/assignments/?timeliness=not_yet_due&page_size=100").json()
    assert overdue["count"] == 59  # deadlines 1 Jan .. 28 Feb
    assert {row["timeliness"] for row in overdue["results"]} == {"in_progress_overdue"}
    assert {row["timeliness"] for row in not_due["results"]} == {"not_yet_due"}
    assert all(row["status"] == "issued" for row in not_due["results"])


def test_updated_since_gives_an_incremental_sync(key_a, assignment_a, task, head_a):
    client = key_a.client()
    with time_machine.travel(dt.datetime(2026, 2, 1, 1, tzinfo=dt.UTC), tick=False):
        other_task = Task.objects.create(
            group=task.group,
            code="T-X",
            number=9,
            title="X",
            description="Y",
            deliverable="Z",
            acceptance_criteria="W",
            default_deadline=dt.date(2026, 8, 1),
            authority=task.authority,
        )
        other = make_assignment(other_task, head_a.unit)
    Assignment.objects.filter(pk=assignment_a.pk).update(updated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    since = "2026-01-15T00:00:00%2B07:00"
    assert ids(client.get(f"/api/v1/assignments/?updated_since={since}&ordering=updated_at")) == [other.pk]
    # A change after the last sync brings the changed assignment back.
    with time_machine.travel(dt.datetime(2026, 3, 1, 1, tzinfo=dt.UTC), tick=False):
        client.post(f"/api/v1/assignments/{assignment_a.pk}/progress/", {"percent": 10}, format="json")
    rows = client.get("/api/v1/assignments/?updated_since=2026-02-15T00:00:00Z&ordering=updated_at").json()["results"]
    assert [(r["id"], r["progress"]) for r in rows] == [(assignment_a.pk, 10)]


@pytest.mark.parametrize(
    "query",
    [
        "status=bogus",
        "timeliness=late",
        "role=boss",
        "due_before=2026-13-45",
        "updated_since=yesterday",
        "group=abc",
        "plan=-1",
        "ordering=password",
        "unit=" + "9" * 50,
        "search=%00",
        "page=0",
        "page=abc",
        "page_size=abc",
    ],
)
def test_bad_filters_get_a_clear_4xx_never_a_500(key_a, assignment_a, query):
    response = key_a.client().get(f"/api/v1/assignments/?{query}")
    assert response.status_code in (200, 400, 404), response.content
    assert response.status_code != 200 or query.startswith(("page_size", "ordering"))
    if response.status_code == 400:
        assert isinstance(response.json(), dict) and response.json()


def test_detail_carries_etag_and_if_match_guards_writes(key_a, assignment_a):
    client = key_a.client()
    url = f"/api/v1/assignments/{assignment_a.pk}/"
    etag = client.get(url)["ETag"]
    assert etag == '"1"'

    first = client.post(url + "progress/", {"percent": 20}, format="json", HTTP_IF_MATCH=etag)
    assert first.status_code == 201 and first["ETag"] == '"2"'
    stale = client.post(url + "progress/", {"percent": 90}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2 and stale["ETag"] == '"2"'
    assignment_a.refresh_from_db()
    assert (assignment_a.progress, assignment_a.version, assignment_a.reports.count()) == (20, 2, 1)

    assert client.post(url + "progress/", {"percent": 30}, format="json", HTTP_IF_MATCH='W/"2"').status_code == 201
    assert client.post(url + "progress/", {"percent": 40}, format="json", HTTP_IF_MATCH='"garbage"').status_code == 412
    assert client.post(url + "progress/", {"percent": 40}, format="json", HTTP_IF_MATCH="*").status_code == 201


def test_full_workflow_progress_submit_return_resubmit_accept(key_a, leader_client, assignment_a):
    client = key_a.client()
    url = f"/api/v1/assignments/{assignment_a.pk}/"
    assert client.post(url + "progress/", {"percent": 50, "note": "Nửa chặng"}, format="json").status_code == 201
    sub = client.post(url + "submit/", {"note": "Báo cáo", "links": ["https://haiphong.gov.vn/bc.pdf"]}, format="json")
    assert sub.status_code == 201 and sub.json()["kind"] == "submission"
    assert sub.json()["evidence"][0]["url"] == "https://haiphong.gov.vn/bc.pdf"
    returned = leader_client.post(url + "return/", {"reason": "Thiếu phụ lục"}, format="json")
    assert returned.status_code == 201
    assert client.get(url).json()["status"] == "returned"
    assert client.post(url + "progress/", {"percent": 90}, format="json").status_code == 201
    assert client.post(url + "submit/", {}, format="json").status_code == 201
    accepted = leader_client.post(url + "accept/", {"note": "Đạt"}, format="json")
    assert accepted.status_code == 201
    detail = client.get(url).json()
    assert (detail["status"], detail["return_count"], detail["progress"]) == ("accepted", 1, 100)
    reports = client.get(url + "reports/").json()
    assert [r["kind"] for r in reports] == ["progress", "submission", "return", "progress", "submission", "acceptance"]


def test_illegal_transition_is_409_and_changes_nothing(key_a, leader_client, assignment_a):
    url = f"/api/v1/assignments/{assignment_a.pk}/"
    response = key_a.client().post(url + "submit/", {}, format="json")  # issued → submitted is not allowed
    assert response.status_code == 409 and response.json()["code"] == "illegal_transition"
    accept = leader_client.post(url + "accept/", {}, format="json")
    assert accept.status_code == 409
    assignment_a.refresh_from_db()
    assert (assignment_a.status, assignment_a.version, assignment_a.reports.count()) == ("issued", 1, 0)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"percent": -1},
        {"percent": 101},
        {"percent": "abc"},
        {"percent": None},
        {"percent": 10, "links": "https://x.org"},
        {"percent": 10, "links": ["javascript:alert(1)"]},
        {"percent": 10, "links": ["ftp://files.example.org/x"]},
        {"percent": 10, "note": "x" * 10001},
        {"percent": 10, "note": "a\x00b"},
        [1, 2],
        "percent",
    ],
)
def test_bad_progress_input_is_400_field_level_and_changes_nothing(key_a, assignment_a, body):
    response = key_a.client().post(f"/api/v1/assignments/{assignment_a.pk}/progress/", body, format="json")
    assert response.status_code == 400, response.content
    assert isinstance(response.json(), dict)
    assignment_a.refresh_from_db()
    assert (assignment_a.version, assignment_a.reports.count()) == (1, 0)


def test_malformed_json_is_400(key_a, assignment_a):
    response = key_a.client().post(
        f"/api/v1/assignments/{assignment_a.pk}/progress/", b"{not json", content_type="application/json"
    )
    assert response.status_code == 400


def test_return_needs_a_reason(leader_client, assignment_a):
    Assignment.objects.filter(pk=assignment_a.pk).update(status=Status.SUBMITTED)
    response = leader_client.post(f"/api/v1/assignments/{assignment_a.pk}/return/", {"reason": "  "}, format="json")
    assert response.status_code == 400 and "reason" in response.json()


def test_evidence_files_are_checked_by_content_and_served_only_in_scope(key_a, key_b, portal_key, assignment_a):
    client = key_a.client()
    url = f"/api/v1/assignments/{assignment_a.pk}/progress/"
    response = client.post(
        url,
        {
            "percent": "40",
            "note": "Ảnh hiện trường",
            "links": ["https://example.org/a"],
            "files": [SimpleUploadedFile("hien truong.png", PNG), SimpleUploadedFile("bao cao.pdf", PDF)],
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    files = [e for e in response.json()["evidence"] if e["download_url"]]
    assert {(e["original_name"], e["content_type"]) for e in files} == {
        ("hien truong.png", "image/png"),
        ("bao cao.pdf", "application/pdf"),
    }
    png = next(e for e in files if e["content_type"] == "image/png")
    download = client.get(png["download_url"])
    assert download.status_code == 200 and download["Content-Disposition"].startswith("attachment")
    assert b"".join(download.streaming_content) == PNG
    assert key_b.client().get(png["download_url"]).status_code == 404
    assert portal_key.client().get(png["download_url"]).status_code == 200
    # Stored under MEDIA_ROOT, not under the static web root.
    from django.conf import settings

    stored = Evidence.objects.get(pk=png["id"]).file.path
    assert stored.startswith(str(settings.MEDIA_ROOT))


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("bao-cao.pdf", b"<html><script>alert(1)</script></html>"),  # HTML renamed .pdf
        ("anh.png", b"MZ\x90\x00" + b"\x00" * 100),  # a Windows executable
        ("empty.pdf", b""),
    ],
)
def test_evidence_with_a_wrong_type_is_refused_and_nothing_is_recorded(key_a, assignment_a, name, content):
    response = key_a.client().post(
        f"/api/v1/assignments/{assignment_a.pk}/progress/",
        {"percent": 40, "files": [SimpleUploadedFile(name, content)]},
        format="multipart",
    )
    assert response.status_code == 400 and "files" in response.json()
    assignment_a.refresh_from_db()
    assert (assignment_a.version, assignment_a.reports.count(), Evidence.objects.count()) == (1, 0, 0)


def test_evidence_over_the_size_cap_is_refused(key_a, assignment_a, settings):
    settings.API_EVIDENCE_MAX_BYTES = 1024
    response = key_a.client().post(
        f"/api/v1/assignments/{assignment_a.pk}/progress/",
        {"percent": 40, "files": [SimpleUploadedFile("big.pdf", PDF + b"0" * 2048)]},
        format="multipart",
    )
    assert response.status_code == 400 and "files" in response.json()
    assert Evidence.objects.count() == 0


def test_extension_request_and_decision_move_the_deadline(key_a, leader_client, assignment_a):
    response = key_a.client().post(
        f"/api/v1/assignments/{assignment_a.pk}/extension-requests/",
        {"requested_deadline": "2026-09-30", "reason": "Chờ bố trí vốn"},
        format="json",
    )
    assert response.status_code == 201
    extension = response.json()
    assert (extension["status"], extension["current_deadline"]) == ("pending", "2026-06-30")
    again = key_a.client().post(
        f"/api/v1/assignments/{assignment_a.pk}/extension-requests/",
        {"requested_deadline": "2026-10-30", "reason": "Lần nữa"},
        format="json",
    )
    assert again.status_code == 409
    decided = leader_client.post(
        f"/api/v1/extension-requests/{extension['id']}/decide/", {"approve": True}, format="json"
    )
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    detail = key_a.client().get(f"/api/v1/assignments/{assignment_a.pk}/").json()
    assert (detail["deadline"], detail["original_deadline"]) == ("2026-09-30", "2026-06-30")
    twice = leader_client.post(
        f"/api/v1/extension-requests/{extension['id']}/decide/", {"approve": False}, format="json"
    )
    assert twice.status_code == 409


@pytest.mark.parametrize(
    "body",
    [
        {"requested_deadline": "2026-06-01", "reason": "sớm hơn"},
        {"requested_deadline": "not a date", "reason": "x"},
        {"requested_deadline": "2026-09-30"},
        {"requested_deadline": "2026-09-30", "reason": ""},
    ],
)
def test_bad_extension_request_is_400(key_a, assignment_a, body):
    response = key_a.client().post(f"/api/v1/assignments/{assignment_a.pk}/extension-requests/", body, format="json")
    assert response.status_code == 400
    assert not ExtensionRequest.objects.exists()


def test_huge_or_odd_ids_are_404_not_500(key_a):
    client = key_a.client()
    for path in [
        "/api/v1/assignments/99999999999999999999/",
        "/api/v1/assignments/-1/",
        "/api/v1/assignments/abc/",
        "/api/v1/units/%00/",
        "/api/v1/tasks/%E2%80%AE/",
        "/api/v1/evidence/999999999999999999/download/",
        "/api/v1/extension-requests/0/decide/",
    ]:
        response = client.get(path) if "decide" not in path else client.post(path, {"approve": True}, format="json")
        expected = 400 if "%00" in path else 404  # NUL is refused before routing (tasks_app/inputs.py)
        assert response.status_code == expected, path


def test_units_by_code(key_a, commune_a, head_a):
    response = key_a.client().get("/api/v1/units/10507/").json()
    assert response == {
        "code": "10507",
        "name": "Phường Thành Đông",
        "kind": Unit.Kind.WARD,
        "parent": "31",
        "head": {"id": head_a.pk, "full_name": head_a.full_name, "position": head_a.position},
    }
