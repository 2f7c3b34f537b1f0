"""The six-clears invariant: nothing is issued without person, task, time, responsibility,
deliverable and authority; the error names each missing clear in Vietnamese and English."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tasks_app.lifecycle import Clear
from tasks_app.models import Assignment, Task
from tasks_app.status import Status


def _draft(task, unit, **overrides):
    fields = dict(
        task=task,
        unit=unit,
        role=Assignment.Role.LEAD,
        responsible_id=unit.head_id,
        deadline=task.default_deadline,
        authority_id=task.authority_id,
        status=Status.DRAFT,
    )
    fields.update(overrides)
    return Assignment.objects.create(**fields)


def _strip_person(a, task):
    a.responsible = None


def _strip_task(a, task):
    Task.objects.filter(pk=task.pk).update(description="")


def _strip_time(a, task):
    a.deadline = None


def _strip_responsibility(a, task):
    a.role = ""


def _strip_deliverable(a, task):
    Task.objects.filter(pk=task.pk).update(acceptance_criteria="")


def _strip_authority(a, task):
    a.authority = None


STRIPPERS = {
    Clear.PERSON: _strip_person,
    Clear.TASK: _strip_task,
    Clear.TIME: _strip_time,
    Clear.RESPONSIBILITY: _strip_responsibility,
    Clear.DELIVERABLE: _strip_deliverable,
    Clear.AUTHORITY: _strip_authority,
}


@pytest.mark.parametrize("clear", list(Clear), ids=lambda c: c.key)
def test_issue_refused_when_one_clear_is_missing(clear, task, head_a, leader):
    draft = _draft(task, head_a.unit)
    STRIPPERS[clear](draft, task)
    draft.save()
    draft = Assignment.objects.select_related("task", "unit").get(pk=draft.pk)
    assert draft.missing_clears() == [clear]
    history_before = Assignment.history.count()

    with pytest.raises(ValidationError) as exc:
        draft.issue(by=leader)

    message = " ".join(exc.value.messages)
    assert clear.name_vi in message and clear.name_en in message
    assert exc.value.error_dict["__all__"][0].code == f"missing_{clear.key}"
    stored = Assignment.objects.get(pk=draft.pk)
    assert (stored.status, stored.version, stored.issued_at) == (Status.DRAFT, 1, None)
    assert Assignment.history.count() == history_before


def test_draft_lists_every_missing_clear(task, head_a):
    draft = _draft(task, head_a.unit, responsible_id=None, deadline=None, authority_id=None, role="")
    assert draft.missing_clears() == [Clear.PERSON, Clear.TIME, Clear.RESPONSIBILITY, Clear.AUTHORITY]


def test_unit_without_head_lacks_clear_responsibility(task, commune_b, head_a):
    draft = _draft(task, commune_b, responsible_id=head_a.pk)
    assert draft.missing_clears() == [Clear.RESPONSIBILITY]


def test_complete_draft_is_issued(task, head_a, leader):
    draft = _draft(task, head_a.unit)
    draft.issue(by=leader)
    stored = Assignment.objects.get(pk=draft.pk)
    assert stored.status == Status.ISSUED
    assert stored.original_deadline == task.default_deadline
    assert stored.issued_at is not None


def test_save_refuses_non_draft_without_clears(task, head_a):
    """The same rule guards save(): the admin, importer and any other writer get it too."""
    with pytest.raises(ValidationError) as exc:
        _draft(task, head_a.unit, status=Status.ISSUED, deadline=None)
    assert Clear.TIME.name_vi in " ".join(exc.value.messages)
    assert not Assignment.objects.exists()


def test_database_refuses_issued_row_without_local_clears(task, head_a):
    """Below the model layer a check constraint still refuses an issued row with no deadline."""
    draft = _draft(task, head_a.unit)
    with pytest.raises(IntegrityError), transaction.atomic():
        Assignment.objects.filter(pk=draft.pk).update(status=Status.ISSUED, deadline=None)
    assert Assignment.objects.get(pk=draft.pk).status == Status.DRAFT


def test_admin_form_shows_missing_clears(task, head_a, admin_client):
    draft = _draft(task, head_a.unit, deadline=None)
    response = admin_client.get(f"/admin/tasks_app/assignment/{draft.pk}/change/")
    assert response.status_code == 200
    assert "rõ thời gian" in response.content.decode()
