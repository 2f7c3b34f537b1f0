"""Loose limits made tight, stated on the form and enforced in the lifecycle (web, API, admin alike):
a note or reason of at most 4,000 characters; an extension within the plan's horizon."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from tasks_app.lifecycle import NOTE_MAX_LENGTH
from tasks_app.models import Assignment, ExtensionRequest, ProgressReport
from tests.fixtures_web import sign_in

pytestmark = pytest.mark.django_db
HUGE = "x" * 20_000


def snapshot(a):
    a = Assignment.objects.get(pk=a.pk)
    return (a.status, a.version, ProgressReport.objects.count(), ExtensionRequest.objects.count())


def test_a_20000_character_note_is_refused_and_changes_nothing(assignment_a, head_a, leader):
    before = snapshot(assignment_a)
    with pytest.raises(ValidationError) as refused:
        assignment_a.report_progress(by=head_a, percent=10, note=HUGE)
    assert "Tối đa 4.000 ký tự" in str(refused.value)
    assert snapshot(assignment_a) == before
    assignment_a.report_progress(by=head_a, percent=100, note="x" * NOTE_MAX_LENGTH)  # the limit itself is fine
    assignment_a.submit(by=head_a, note="nộp")
    for step in (
        lambda: assignment_a.return_(by=leader, reason=HUGE),
        lambda: assignment_a.accept(by=leader, note=HUGE),
        lambda: assignment_a.cancel(by=leader, reason=HUGE),
    ):
        before = snapshot(assignment_a)
        with pytest.raises(ValidationError):
            step()
        assert snapshot(assignment_a) == before


def test_an_extension_beyond_the_plans_horizon_is_refused(assignment_a, head_a, plan):
    assert plan.extension_horizon_days == 365
    before = snapshot(assignment_a)
    with pytest.raises(ValidationError) as refused:
        assignment_a.request_extension(by=head_a, requested_deadline=dt.date(2099, 12, 31), reason="Cần thêm")
    assert "30/06/2027" in str(refused.value)  # 30/06/2026 + 365 days
    assert snapshot(assignment_a) == before
    assignment_a.request_extension(by=head_a, requested_deadline=dt.date(2027, 6, 30), reason="Cần thêm")
    plan.extension_horizon_days = 30
    plan.save()


def test_the_forms_state_the_limits_and_the_api_enforces_them(client, assignment_a, head_a):
    sign_in(client, head_a)
    page = client.get(reverse("web:assignment", args=[assignment_a.pk])).content.decode()
    assert f'maxlength="{NOTE_MAX_LENGTH}"' in page and "Tối đa 4.000 ký tự." in page
    assert 'max="2027-06-30"' in page and "không quá 30/06/2027" in page
    response = client.post(
        reverse("web:assignment-action", args=[assignment_a.pk, "extension"]),
        {"extension-version": 1, "extension-requested_deadline": "2099-12-31", "extension-reason": "Cần thêm"},
    )
    assert response.status_code == 400 and "30/06/2027" in response.content.decode()
    api = client.post(
        f"/api/v1/assignments/{assignment_a.pk}/progress/",
        {"percent": 10, "note": HUGE},
        content_type="application/json",
    )
    assert api.status_code == 400
    assert ExtensionRequest.objects.count() == ProgressReport.objects.count() == 0
