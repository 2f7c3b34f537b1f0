"""Every change to an assignment, task or unit is recorded: who, when, before and after."""

import datetime as dt

from tasks_app.models import Assignment, Task, Unit


def test_transitions_record_who_changed_what(assignment_a, head_a, leader):
    assignment_a.report_progress(by=head_a, percent=30)
    assignment_a.submit(by=head_a)
    assignment_a.accept(by=leader)
    records = list(Assignment.history.filter(id=assignment_a.pk).order_by("history_date", "history_id"))
    assert [r.status for r in records] == ["issued", "in_progress", "submitted", "accepted"]
    assert [r.history_user for r in records[1:]] == [head_a.user, head_a.user, leader.user]
    delta = records[2].diff_against(records[1])
    changed = {c.field: (c.old, c.new) for c in delta.changes}
    assert changed["status"] == ("in_progress", "submitted")
    assert changed["progress"] == (30, 100)


def test_extension_history_keeps_old_deadline(assignment_a, head_a, leader):
    assignment_a.request_extension(by=head_a, requested_deadline=dt.date(2026, 8, 31), reason="Thiếu vốn").decide(
        by=leader, approve=True
    )
    last, before = Assignment.history.filter(id=assignment_a.pk).order_by("-history_id")[:2]
    assert (before.deadline, last.deadline) == (dt.date(2026, 6, 30), dt.date(2026, 8, 31))
    assert last.history_user == leader.user
    assert last.history_change_reason == "extension approved"


def test_task_and_unit_changes_are_recorded(task, commune_a):
    task.title = "Giải ngân vốn đầu tư công (sửa)"
    task.save()
    commune_a.name = "Phường Thành Đông (mới)"
    commune_a.save()
    assert Task.history.filter(id=task.pk).count() == 2
    assert Unit.history.filter(id=commune_a.pk).latest().name == "Phường Thành Đông (mới)"


def test_admin_change_records_the_signed_in_user(admin_client, admin_user, task):
    response = admin_client.post(
        f"/admin/tasks_app/task/{task.pk}/change/",
        {
            "group": task.group_id,
            "code": task.code,
            "number": task.number,
            "title": "Tiêu đề mới",
            "description": task.description,
            "deliverable": task.deliverable,
            "acceptance_criteria": task.acceptance_criteria,
            "default_deadline": "30/06/2026",
            "authority": task.authority_id,
            "indicator": "",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    latest = Task.history.filter(id=task.pk).latest()
    assert (latest.title, latest.history_user) == ("Tiêu đề mới", admin_user)
