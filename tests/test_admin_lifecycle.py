"""The admin changes assignments only through the lifecycle: on an issued assignment the status,
deadline, unit, responsible official and authority are read-only; every admin edit bumps the
version (ETag, stale forms) and is in the history; its actions call the lifecycle."""

import datetime as dt

import pytest
from django.contrib.messages import get_messages

from tasks_app import figures
from tasks_app.models import Assignment, ExtensionRequest
from tasks_app.status import Status
from tests.conftest import make_assignment

# `admin_client` is pytest-django's: a client signed in as the superuser "admin".
pytestmark = pytest.mark.django_db


def change_url(assignment):
    return f"/admin/tasks_app/assignment/{assignment.pk}/change/"


def post_change(admin_client, assignment, **fields):
    data = {
        "task": assignment.task_id,
        "unit": assignment.unit_id,
        "role": assignment.role,
        "responsible": assignment.responsible_id or "",
        "authority": assignment.authority_id or "",
        "start_date": "",
        "deadline": assignment.deadline.isoformat() if assignment.deadline else "",
        "deliverable": assignment.deliverable,
        "acceptance_criteria": assignment.acceptance_criteria,
        "progress": assignment.progress,
        "reports-TOTAL_FORMS": "0",
        "reports-INITIAL_FORMS": "0",
        "reports-MIN_NUM_FORMS": "0",
        "reports-MAX_NUM_FORMS": "1000",
        "_save": "Lưu",
        **fields,
    }
    return admin_client.post(change_url(assignment), data)


def test_admin_edit_of_an_issued_assignments_deadline_is_refused(admin_client, assignment_a, commune_b, head_b):
    before = (assignment_a.deadline, assignment_a.unit_id, assignment_a.responsible_id, assignment_a.authority_id)
    page = admin_client.get(change_url(assignment_a)).content.decode()
    assert 'name="deadline"' not in page and 'name="status"' not in page and 'name="unit"' not in page
    response = post_change(
        admin_client,
        assignment_a,
        deadline="2027-12-31",
        status=Status.ACCEPTED,
        unit=commune_b.pk,
        responsible=head_b.pk,
        authority=head_b.pk,
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assignment_a.refresh_from_db()
    # rõ thời gian: only an approved extension moves the deadline; the rest stays as issued.
    after = (assignment_a.deadline, assignment_a.unit_id, assignment_a.responsible_id, assignment_a.authority_id)
    assert after == before and assignment_a.status == Status.ISSUED


def test_an_admin_edit_bumps_the_version_and_the_figures_and_is_in_the_history(admin_client, assignment_a):
    figures_before = figures.current()
    response = post_change(admin_client, assignment_a, deliverable="Báo cáo sửa đổi")
    assert response.status_code == 302, response.content.decode()[:3000]
    assignment_a.refresh_from_db()
    assert assignment_a.version == 2
    assert assignment_a.deliverable == "Báo cáo sửa đổi"
    assert figures.current() > figures_before
    latest = assignment_a.history.order_by("-history_id").first()
    assert latest.history_user.username == "admin" and latest.deliverable == "Báo cáo sửa đổi"


def test_a_drafts_deadline_may_still_be_edited_in_the_admin(admin_client, task, head_a):
    draft = make_assignment(task, head_a.unit, status=Status.DRAFT)
    response = post_change(admin_client, draft, deadline="2026-12-31")
    assert response.status_code == 302, response.content.decode()[:3000]
    draft.refresh_from_db()
    assert (draft.deadline, draft.version) == (dt.date(2026, 12, 31), 2)


def test_the_admin_issue_action_goes_through_the_lifecycle(admin_client, task, head_a):
    draft = make_assignment(task, head_a.unit, status=Status.DRAFT)
    response = admin_client.post(
        "/admin/tasks_app/assignment/", {"action": "issue_selected", "_selected_action": [draft.pk]}
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == Status.ISSUED and draft.version == 2
    assert draft.original_deadline == draft.deadline and draft.issued_at is not None
    assert draft.history.order_by("-history_id").first().history_change_reason == "issued"


def test_an_extension_is_decided_in_the_admin_only_through_the_lifecycle(admin_client, official_a, assignment_a):
    from tasks_app import lifecycle

    request = lifecycle.request_extension(
        assignment_a, by=official_a.user, requested_deadline=dt.date(2026, 9, 30), reason="Chờ vốn"
    )
    page = admin_client.get(f"/admin/tasks_app/extensionrequest/{request.pk}/change/").content.decode()
    assert 'name="status"' not in page
    # The superuser is not the assignment's authority: the lifecycle refuses, nothing changes.
    response = admin_client.post(
        "/admin/tasks_app/extensionrequest/", {"action": "approve_selected", "_selected_action": [request.pk]}
    )
    assert response.status_code == 302
    assert "thẩm quyền" in " ".join(str(m) for m in get_messages(response.wsgi_request))
    request.refresh_from_db()
    assignment_a.refresh_from_db()
    assert request.status == ExtensionRequest.Status.PENDING
    assert assignment_a.deadline == dt.date(2026, 6, 30) and assignment_a.version == 1
    assert Assignment.objects.get().deadline == dt.date(2026, 6, 30)
