"""A task given to all 114 communes: one assignment per unit, one transaction, constant queries."""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tasks_app.actions import commune_units, fan_out
from tasks_app.models import Assignment, Official, Task, Unit
from tasks_app.status import Status


@pytest.fixture
def haiphong(db):
    call_command("load_haiphong", verbosity=0)
    return Official.objects.get(user__username="city-leader")


@pytest.fixture
def commune_task(group, haiphong):
    return Task.objects.create(
        group=group,
        code="2026-06-01",
        number=1,
        title="Rà soát trụ sở dôi dư sau sắp xếp",
        description="Lập danh mục và phương án xử lý trụ sở, nhà đất dôi dư.",
        deliverable="Báo cáo danh mục và phương án xử lý",
        acceptance_criteria="Đủ 100% cơ sở nhà đất dôi dư trên địa bàn",
        default_deadline="2026-09-30",
        authority=haiphong,
    )


def test_fan_out_to_all_communes_issues_114_with_heads(commune_task, haiphong):
    units = commune_units().order_by("code")
    created = fan_out(commune_task, units, role=Assignment.Role.LEAD, by=haiphong, issue=True)
    assert len(created) == 114
    rows = Assignment.objects.filter(task=commune_task).select_related("unit")
    assert rows.count() == 114
    assert all(a.responsible_id == a.unit.head_id is not None for a in rows)
    assert {a.status for a in rows} == {Status.ISSUED}
    assert all(a.missing_clears() == [] for a in rows)
    assert Assignment.history.filter(task_id=commune_task.pk).count() == 114


# On SQLite Django splits bulk inserts to stay under its 999-variable limit, so the count is
# constant per batch there; the production database (PostgreSQL) inserts 114 rows in one statement.
@pytest.mark.postgres
def test_query_count_does_not_grow_with_units(group, haiphong):
    """Measure 10 and 114 units: the same number of queries (at most 10: since fan-out issues through
    the lifecycle's issue step it sends the status events, whose webhook receiver looks up the
    endpoints once for all the assignments; one more reads the issuer's unit for the province wall)."""
    counts = []
    for n, size in enumerate((10, 114)):
        task = Task.objects.create(
            group=group, code=f"C-{n}", number=50 + n, title="T", description="D", deliverable="P",
            acceptance_criteria="A", default_deadline="2026-12-31", authority=haiphong,
        )  # fmt: skip
        units = list(commune_units().order_by("code")[:size])
        with CaptureQueriesContext(connection) as ctx:
            fan_out(task, units, role=Assignment.Role.COORDINATING, by=Official.objects.get(pk=haiphong.pk), issue=True)
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1] <= 10


def test_fan_out_is_all_or_nothing_when_a_unit_lacks_a_head(commune_task, haiphong):
    headless = Unit.objects.get(code="10525")
    Unit.objects.filter(pk=headless.pk).update(head=None)
    with pytest.raises(ValidationError) as exc:
        fan_out(commune_task, commune_units(), role=Assignment.Role.LEAD, by=haiphong, issue=True)
    assert "10525" in " ".join(exc.value.messages)
    assert "rõ trách nhiệm" in " ".join(exc.value.messages)
    assert not Assignment.objects.exists()


def test_fan_out_refuses_duplicates(commune_task, haiphong):
    fan_out(commune_task, commune_units().filter(code="10507"), role=Assignment.Role.LEAD, by=haiphong)
    with pytest.raises(ValidationError) as exc:
        fan_out(commune_task, commune_units(), role=Assignment.Role.LEAD, by=haiphong)
    assert "10507" in " ".join(exc.value.messages)
    assert Assignment.objects.count() == 1


def test_fan_out_refuses_bad_role(commune_task, haiphong):
    with pytest.raises(ValidationError):
        fan_out(commune_task, commune_units(), role="boss", by=haiphong)
    assert not Assignment.objects.exists()


def test_draft_fan_out_may_be_incomplete(group, haiphong):
    task = Task.objects.create(group=group, code="D-1", number=99, title="Chưa đủ", description="")
    created = fan_out(task, commune_units(), role=Assignment.Role.LEAD)
    assert len(created) == 114
    assert {a.status for a in Assignment.objects.all()} == {Status.DRAFT}


def test_only_an_issuer_may_fan_out_and_issue(commune_task, haiphong):
    from django.core.exceptions import PermissionDenied

    head = Official.objects.get(user__username="head-10507")
    with pytest.raises(PermissionDenied):
        fan_out(commune_task, commune_units(), role=Assignment.Role.LEAD, by=head, issue=True)
    assert not Assignment.objects.exists()
    office = Official.objects.get(user__username="city-office")
    assert len(fan_out(commune_task, commune_units(), role=Assignment.Role.LEAD, by=office, issue=True)) == 114


@pytest.mark.postgres
def test_fan_out_issues_through_the_lifecycle_and_sends_one_status_event_each(commune_task, haiphong):
    """The same issue step as `lifecycle.issue` (issued_at, the original deadline) and the same
    events: a portal's webhook gets one status change per assignment, from draft to issued."""
    from tasks_app.api.models import ApiKey, WebhookDelivery, WebhookEndpoint

    key, _secret = ApiKey.objects.create_key(name="Cổng thành phố", is_portal=True)
    WebhookEndpoint.objects.create(api_key=key, url="https://p.example.org/h", events=["assignment.status_changed"])
    created = fan_out(commune_task, commune_units(), role=Assignment.Role.LEAD, by=haiphong, issue=True)
    assert len(created) == 114
    issued = Assignment.objects.filter(task=commune_task)
    assert {(a.status, a.original_deadline.isoformat()) for a in issued} == {(Status.ISSUED, "2026-09-30")}
    assert all(a.issued_at is not None for a in issued)
    deliveries = list(WebhookDelivery.objects.filter(event="assignment.status_changed"))
    assert sorted(d.assignment_id for d in deliveries) == sorted(a.pk for a in created)
    assert all('"previous_status": "draft"' in d.body and '"status": "issued"' in d.body for d in deliveries)


@pytest.mark.postgres
def test_a_draft_fan_out_sends_no_event(group, haiphong):
    from tasks_app.api.models import ApiKey, WebhookDelivery, WebhookEndpoint

    key, _secret = ApiKey.objects.create_key(name="Cổng thành phố", is_portal=True)
    WebhookEndpoint.objects.create(api_key=key, url="https://p.example.org/h", events=["assignment.status_changed"])
    task = Task.objects.create(group=group, code="D-1", number=70, title="T", authority=haiphong)
    fan_out(task, commune_units(), role=Assignment.Role.LEAD, by=haiphong)
    assert not WebhookDelivery.objects.exists()
