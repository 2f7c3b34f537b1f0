"""The assignment page's forms: each goes through the lifecycle, refuses stale or bad input with the
error beside the field and nothing changed, and only the unit or only the authority may use it."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tasks_app.models import Assignment, Evidence, ExtensionRequest, ProgressReport
from tasks_app.status import Status
from tests.fixtures_web import sign_in

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def act(client, assignment, action, **data):
    url = reverse("web:assignment-action", args=[assignment.pk, action])
    data.setdefault("version", assignment.version)
    return client.post(url, {f"{action}-{k}": v for k, v in data.items()})


def test_progress_with_a_file_and_a_link_is_recorded_and_downloadable_only_as_attachment(
    client, official_a, head_b, assignment_a
):
    sign_in(client, official_a)
    upload = SimpleUploadedFile("bien-ban.pdf", PDF, content_type="text/html")  # the browser's claim is ignored
    response = act(client, assignment_a, "progress", percent=60, note="Đã làm", files=upload, links="https://a.vn/x")
    assert response.status_code == 302
    assignment_a.refresh_from_db()
    assert (assignment_a.status, assignment_a.progress, assignment_a.version) == (Status.IN_PROGRESS, 60, 2)
    report = ProgressReport.objects.get(assignment=assignment_a)
    files = Evidence.objects.filter(report=report).exclude(file="")
    assert [(e.original_name, e.content_type) for e in files] == [("bien-ban.pdf", "application/pdf")]
    assert Evidence.objects.filter(report=report, url="https://a.vn/x").exists()

    download = client.get(reverse("web:evidence-file", args=[files[0].pk]))
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download["Content-Security-Policy"]
    assert b"".join(download.streaming_content) == PDF
    # Another commune cannot fetch it.
    sign_in(client, head_b)
    assert client.get(reverse("web:evidence-file", args=[files[0].pk])).status_code == 404


@pytest.mark.parametrize(
    "name,content",
    [
        ("report.pdf", b"<html><script>alert(1)</script></html>"),
        ("notes.txt", b"<svg onload=alert(1)>"),
        ("tool.pdf", b"MZ\x90\x00" + b"\x00" * 64),
        ("empty.pdf", b""),
    ],
)
def test_a_disguised_or_empty_file_is_refused_beside_the_field_and_nothing_changes(
    client, official_a, assignment_a, name, content
):
    sign_in(client, official_a)
    response = act(client, assignment_a, "progress", percent=30, note="x", files=SimpleUploadedFile(name, content))
    assert response.status_code == 400
    assert response.context["forms"]["progress"].errors["files"]
    assert 'id="form-progress"' in response.content.decode()
    assignment_a.refresh_from_db()
    assert (assignment_a.progress, assignment_a.version) == (0, 1)
    assert not ProgressReport.objects.exists() and not Evidence.objects.exists()


def test_bad_percent_and_bad_link_are_shown_beside_their_fields(client, official_a, assignment_a):
    sign_in(client, official_a)
    response = act(client, assignment_a, "progress", percent=150, links="javascript:alert(1)")
    form = response.context["forms"]["progress"]
    assert response.status_code == 400
    assert set(form.errors) == {"percent", "links"}
    assert Assignment.objects.get(pk=assignment_a.pk).version == 1


def test_a_stale_form_is_refused_with_the_input_kept_and_pointed_at_the_new_version(client, official_a, assignment_a):
    sign_in(client, official_a)
    Assignment.objects.filter(pk=assignment_a.pk).update(version=5)
    response = act(client, assignment_a, "progress", percent=40, note="Giữ lại nội dung này", version=1)
    assert response.status_code == 409
    html = response.content.decode()
    assert "vừa được người khác cập nhật" in html and "Giữ lại nội dung này" in html
    assert response.context["forms"]["progress"]["version"].value() == "5"
    assert not ProgressReport.objects.exists()


def test_submit_needs_a_deliverable_then_the_authority_accepts(client, official_a, leader, assignment_a):
    sign_in(client, official_a)
    act(client, assignment_a, "progress", percent=90)
    assignment_a.refresh_from_db()
    response = act(client, assignment_a, "submit", note="Xong")
    assert response.status_code == 400
    assert "ít nhất một tệp hoặc một đường dẫn" in response.content.decode()
    pdf = SimpleUploadedFile("san-pham.pdf", PDF)
    assert act(client, assignment_a, "submit", note="Xong", files=pdf).status_code == 302
    assignment_a.refresh_from_db()
    assert assignment_a.status == Status.SUBMITTED

    # The unit cannot accept its own work.
    assert act(client, assignment_a, "accept", note="ok").status_code == 403
    sign_in(client, leader)
    assert act(client, assignment_a, "accept", note="Đạt").status_code == 302
    assignment_a.refresh_from_db()
    assert assignment_a.status == Status.ACCEPTED


def test_return_needs_a_reason_and_only_the_authority_returns(client, official_a, head_a, leader, assignment_a):
    Assignment.objects.filter(pk=assignment_a.pk).update(status=Status.SUBMITTED)
    assignment_a.refresh_from_db()
    for who in (official_a, head_a):
        assert act(sign_in(client, who), assignment_a, "return", reason="Thiếu số liệu").status_code == 403
    sign_in(client, leader)
    response = act(client, assignment_a, "return", reason="  ")
    assert response.status_code == 400 and response.context["forms"]["return"].errors["reason"]
    assert act(client, assignment_a, "return", reason="Thiếu số liệu quý II").status_code == 302
    assignment_a.refresh_from_db()
    assert (assignment_a.status, assignment_a.return_count) == (Status.RETURNED, 1)


def test_only_the_authority_cancels(client, office, head_a, leader, assignment_a):
    for who in (head_a, office):
        assert act(sign_in(client, who), assignment_a, "cancel", reason="Không còn phù hợp").status_code == 403
    assert Assignment.objects.get(pk=assignment_a.pk).status == Status.ISSUED
    assert act(sign_in(client, leader), assignment_a, "cancel", reason="Không còn phù hợp").status_code == 302
    assert Assignment.objects.get(pk=assignment_a.pk).status == Status.CANCELLED


def test_an_illegal_transition_is_a_clear_error_not_a_500(client, leader, assignment_a):
    response = act(sign_in(client, leader), assignment_a, "accept", note="")
    assert response.status_code == 400
    assert "Không thể nghiệm thu" in response.content.decode()


def test_extension_request_then_only_the_authority_decides(client, official_a, head_b, office, leader, assignment_a):
    sign_in(client, official_a)
    bad = act(client, assignment_a, "extension", requested_deadline="2026-06-01", reason="Cần thêm thời gian")
    assert bad.status_code == 400 and bad.context["forms"]["extension"].errors["requested_deadline"]
    ok = act(client, assignment_a, "extension", requested_deadline="31/07/2026", reason="Chờ vốn bổ sung")
    assert ok.status_code == 302
    extension = ExtensionRequest.objects.get(assignment=assignment_a)
    decide = reverse("web:decide-extension", args=[assignment_a.pk, extension.pk])

    assert client.post(decide, {"decide-decision": "approve"}).status_code == 403
    assert sign_in(client, office).post(decide, {"decide-decision": "approve"}).status_code == 403
    assert sign_in(client, head_b).post(decide, {"decide-decision": "approve"}).status_code == 404
    sign_in(client, leader)
    assert client.post(decide, {"decide-decision": "maybe"}).status_code == 400
    assert client.post(decide, {"decide-decision": "approve", "decide-note": "Đồng ý"}).status_code == 302
    assignment_a.refresh_from_db()
    assert (assignment_a.deadline, assignment_a.original_deadline) == (dt.date(2026, 7, 31), dt.date(2026, 6, 30))
    # Deciding twice is refused clearly.
    again = client.post(decide, {"decide-decision": "reject"})
    assert again.status_code == 400


def test_a_read_only_city_office_sees_no_forms_and_cannot_report(client, office, assignment_a):
    sign_in(client, office)
    page = client.get(reverse("web:assignment", args=[assignment_a.pk]))
    assert page.status_code == 200 and page.context["forms"] == {}
    assert act(client, assignment_a, "progress", percent=10).status_code == 403
