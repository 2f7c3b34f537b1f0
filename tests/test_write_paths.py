"""Every write path moves what readers key on: the assignment's `version` (API ETags, stale web
forms) when a stored assignment changes, and the figures version (tasks_app/figures.py, the
dashboard's cache) whenever counted work changes. One test per path: web, API, admin, lifecycle
(extension approval), fan-out, the importer, the management commands, model saves and deletes."""

import datetime as dt
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from tasks_app import figures, lifecycle
from tasks_app.actions import fan_out
from tasks_app.models import Assignment, TaskGroup, Unit
from tasks_app.status import Status
from tests.fixtures_web import admin_edit_deliverable, sign_in

pytestmark = pytest.mark.django_db

SAMPLE = Path(__file__).resolve().parent.parent / "tasks_app" / "data" / "phu_luc_nhiem_vu_2026_mau.xlsx"


@pytest.fixture
def moved():
    """Call with the assignment (or None) after the write: asserts both versions moved."""
    before = figures.current()

    def check(assignment=None, *, from_version=1):
        assert figures.current() > before, "the figures version did not move"
        if assignment is not None:
            assignment.refresh_from_db()
            assert assignment.version > from_version, "the assignment's version did not move"

    return check


def test_web(client, official_a, assignment_a, moved):
    sign_in(client, official_a)
    url = reverse("web:assignment-action", args=[assignment_a.pk, "progress"])
    response = client.post(url, {"progress-percent": 30, "progress-note": "", "progress-version": 1})
    assert response.status_code == 302
    moved(assignment_a)


def test_api(key_a, assignment_a, moved):
    response = key_a.client().post(f"/api/v1/assignments/{assignment_a.pk}/progress/", {"percent": 10}, format="json")
    assert response.status_code == 201, response.content
    moved(assignment_a)


def test_admin(admin_client, assignment_a, moved):
    admin_edit_deliverable(admin_client, assignment_a)
    moved(assignment_a)


def test_lifecycle_extension_approval(official_a, leader, assignment_a, moved):
    request = lifecycle.request_extension(
        assignment_a, by=official_a.user, requested_deadline=dt.date(2026, 9, 30), reason="Chờ vốn"
    )
    lifecycle.decide_extension(request, by=leader.user, approve=True)
    moved(assignment_a)


def test_fan_out(task, head_a, head_b, leader, moved):
    created = fan_out(task, Unit.objects.filter(kind__in=Unit.COMMUNE_LEVEL), role="lead", by=leader.user, issue=True)
    assert len(created) == 2 and all(a.status == Status.ISSUED for a in created)
    moved()


def test_importer_command(moved):
    call_command("load_haiphong", verbosity=0)
    before = figures.current()
    call_command("import_plan", str(SAMPLE), "--plan", "Kế hoạch nhập thử", stdout=io.StringIO())
    assert Assignment.objects.exists() and figures.current() > before


def test_generate_scale_data_command(moved):
    call_command(
        "generate_scale_data", provinces=["12"], assignments=50, seed=7, stdout=io.StringIO()
    )  # fmt: skip
    assert Assignment.objects.count() == 50
    moved()


def test_model_saves_and_deletes(group, task, assignment_a, moved):
    other = TaskGroup.objects.create(plan=group.plan, number=2, title="Văn hóa - xã hội")
    before = figures.current()
    task.group = other
    task.save()
    assert figures.current() > before
    before = figures.current()
    assignment_a.delete()
    assert figures.current() > before
