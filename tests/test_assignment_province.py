"""The assignment's denormalised province (`Assignment.province_id`, what the province wall filters
on) is kept by the database on every write path: the ORM's save and bulk_create, a raw INSERT,
`QuerySet.update()` moving work to another unit, a stale value written back, and a unit moved to
another province. It always equals `scope.province_of(assignment.unit)`."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from tasks_app.models import Assignment, Official, Plan, Task, TaskGroup, Unit
from tasks_app.scope import province_of
from tasks_app.status import Status
from tests.conftest import make_assignment


def _agree() -> bool:
    """Every stored assignment's province is its unit's (the rule in scope.province_of)."""
    rows = Assignment.objects.select_related("unit").only("province_id", "unit__parent_id", "unit__id")
    return all(a.province_id == province_of(a.unit) for a in rows)


@pytest.fixture
def world(db):
    hp = Unit.objects.create(code="31", name="UBND thành phố Hải Phòng", kind=Unit.Kind.CITY)
    hn = Unit.objects.create(code="01", name="UBND thành phố Hà Nội", kind=Unit.Kind.CITY)
    a = Unit.objects.create(code="10507", name="Phường Thành Đông", kind=Unit.Kind.WARD, parent=hp)
    b = Unit.objects.create(code="00097", name="Phường Hồng Hà", kind=Unit.Kind.WARD, parent=hn)
    from tests.conftest import make_official

    leader = make_official("leader-31", hp, role=Official.Role.LEADER)
    plan = Plan.objects.create(province=hp, year=2026, name="Kế hoạch")
    group = TaskGroup.objects.create(plan=plan, number=1, title="Nhóm")
    task = Task.objects.create(
        group=group,
        code="31-1",
        number=1,
        title="Nhiệm vụ",
        description="Nội dung",
        deliverable="Báo cáo",
        acceptance_criteria="Đạt",
        default_deadline=dt.date(2026, 6, 30),
        authority=leader,
    )
    return {"hp": hp, "hn": hn, "a": a, "b": b, "task": task}


def test_every_write_path_keeps_the_province(world):
    hp, hn, a, b, task = world["hp"], world["hn"], world["a"], world["b"], world["task"]
    # The ORM's save (the unit in memory: the instance knows it too).
    saved = make_assignment(task, a, status=Status.DRAFT)
    assert saved.province_id == hp.pk
    saved.refresh_from_db()
    assert saved.province_id == hp.pk
    # bulk_create (fan-out, the importer): the database sets it.
    task2 = Task.objects.create(group=task.group, code="31-2", number=2, title="Hai", authority=task.authority)
    (bulk,) = Assignment.objects.bulk_create([Assignment(task=task2, unit=b)])
    assert Assignment.objects.get(pk=bulk.pk).province_id == hn.pk
    # A raw INSERT that names no province (load_sample_plan and COPY write raw rows).
    task3 = Task.objects.create(group=task.group, code="31-3", number=3, title="Ba", authority=task.authority)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tasks_app_assignment (task_id, unit_id, role, status, progress, return_count, version,"
            " deliverable, acceptance_criteria, created_at, updated_at)"
            " VALUES (%s, %s, '', 'draft', 0, 0, 1, '', '', %s, %s)",
            [task3.pk, a.pk, dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime(2026, 1, 1, tzinfo=dt.UTC)],
        )
    assert Assignment.objects.get(task=task3).province_id == hp.pk
    # QuerySet.update() moving work to a unit of another province.
    Assignment.objects.filter(pk=saved.pk).update(unit=b)
    assert Assignment.objects.get(pk=saved.pk).province_id == hn.pk
    # A stale value written back by a save is corrected by the database.
    stale = Assignment.objects.get(pk=bulk.pk)
    stale.province_id = hp.pk
    Assignment.save(stale, update_fields=["province"])
    assert Assignment.objects.get(pk=bulk.pk).province_id == hn.pk
    assert _agree()


def test_a_unit_moved_to_another_province_takes_its_work_along(world):
    hp, hn, a, task = world["hp"], world["hn"], world["a"], world["task"]
    assignment = make_assignment(task, a, status=Status.DRAFT)
    assert Assignment.objects.get(pk=assignment.pk).province_id == hp.pk
    a.parent = hn
    a.save()
    assert Assignment.objects.get(pk=assignment.pk).province_id == hn.pk
    # Through QuerySet.update() too (load_province corrects parents in bulk).
    Unit.objects.filter(pk=a.pk).update(parent=hp)
    assert Assignment.objects.get(pk=assignment.pk).province_id == hp.pk
    assert _agree()
