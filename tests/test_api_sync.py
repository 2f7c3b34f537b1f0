"""Keyset pages for sync clients (GET /api/v1/assignments/sync/, pagination.AssignmentSyncPagination):
every row is delivered once per sync while rows change between pages; a row changed during a sync
comes in the next one with its new version; no COUNT; a constant number of queries per page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tasks_app.models import Assignment, Task
from tests.conftest import make_assignment

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

SYNC = "/api/v1/assignments/sync/"


@pytest.fixture(autouse=True)
def _no_margin(settings):
    settings.API_SYNC_MARGIN_SECONDS = 0


@pytest.fixture
def rows(task, head_a):
    """Nine assignments of commune A changed at distinct moments in the past, two sharing one."""
    base = timezone.now() - dt.timedelta(hours=1)
    made = []
    for n in range(9):
        other = Task.objects.get(pk=task.pk)
        other.pk, other.code, other.number = None, f"2026-02-{n:02d}", 10 + n
        other.save()
        assignment = make_assignment(other, head_a.unit)
        moment = base + dt.timedelta(minutes=min(n, 7))  # rows 7 and 8 share a moment: ties by id
        Assignment.objects.filter(pk=assignment.pk).update(updated_at=moment)
        made.append(assignment.pk)
    return made


def sync(client, since, *, between_pages=None, page_size=2):
    """Follow `next` to the end; returns the rows in order and the next sync's `updated_since`."""
    seen = []
    response = client.get(SYNC, {"updated_since": since, "page_size": page_size})
    pages = 0
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        assert "count" not in body
        seen.extend(body["results"])
        pages += 1
        if body["next"] is None:
            return seen, body["next_since"]
        assert body["next_since"] is None
        if between_pages is not None:
            between_pages(pages)
        response = client.get(body["next"])


def test_every_row_once_while_rows_change_between_pages(key_a, rows, task, head_a):
    client = key_a.client()
    since = (timezone.now() - dt.timedelta(days=1)).isoformat()
    extra = {}

    def change(page):
        if page == 1:
            # a row already read, a row not read yet, a deleted row not read yet, a new row
            Assignment.objects.filter(pk=rows[0]).update(progress=10, version=2, updated_at=timezone.now())
            Assignment.objects.filter(pk=rows[5]).update(progress=50, version=2, updated_at=timezone.now())
            Assignment.objects.filter(pk=rows[6]).delete()
            extra["new"] = make_assignment(task, head_a.unit).pk

    first, next_since = sync(client, since, between_pages=change)
    ids = [r["id"] for r in first]
    assert len(ids) == len(set(ids)), "a row came twice in one sync"
    # Nothing skipped: every row that did not change during the sync and still exists came once,
    # in (updated_at, id) order, ties included.
    assert ids == [pk for pk in rows if pk not in (rows[5], rows[6])]
    # The next sync brings what changed meanwhile, each once, with its new version.
    second, _ = sync(client, next_since)
    by_id = {r["id"]: r for r in second}
    assert set(by_id) == {rows[0], rows[5], extra["new"]}
    assert by_id[rows[0]]["version"] == 2 and by_id[rows[5]]["progress"] == 50
    # Between them, every row there is now, and the newest version of each.
    assert set(ids) | set(by_id) == set(Assignment.objects.values_list("pk", flat=True))


def test_a_sync_stops_before_a_transaction_still_open(key_a, rows):
    """A write whose transaction has not committed yet holds the sync's bound back: its row cannot
    be passed before it is visible."""
    from django.db import connections

    other = connections.create_connection("default")
    try:
        other.set_autocommit(False)
        with other.cursor() as cursor:
            cursor.execute("SELECT 1")  # the transaction is open from here
        response = key_a.client().get(SYNC, {"updated_since": (timezone.now() - dt.timedelta(days=1)).isoformat()})
        until = dt.datetime.fromisoformat(response.json()["next_since"])
        with other.cursor() as cursor:
            cursor.execute("SELECT xact_start FROM pg_stat_activity WHERE pid = pg_backend_pid()")
            (started,) = cursor.fetchone()
        assert until <= started
    finally:
        other.rollback()
        other.close()


def test_bad_cursors_are_404(key_a, rows):
    client = key_a.client()
    for cursor in ("x", "bm90IGEgY3Vyc29y", "MjAyNi0wMS0wMXwx", "%00"):
        assert client.get(SYNC, {"cursor": cursor}).status_code in (400, 404)


def test_queries_per_page_do_not_grow_with_the_page(key_a, rows):
    client = key_a.client()
    client.get(SYNC)  # the key is remembered from here on
    counts = []
    for size in (1, 9):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(SYNC, {"page_size": size}).status_code == 200
        assert not any("count(" in q["sql"].lower() for q in queries.captured_queries)
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_the_schema_documents_the_cursor(client):
    schema = client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/assignments/sync/"]["get"]
    assert "cursor" in {p["name"] for p in operation["parameters"]}
    body = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert {"next", "next_since", "results"} <= set(body.get("properties", {})) or "$ref" in body


def test_a_bad_updated_since_gets_a_clear_400_and_changes_nothing(key_a, rows):
    # ASVS 5.0 V2.2.1: input is validated against the expected form before it is used.
    client = key_a.client()
    before = list(Assignment.objects.order_by("pk").values_list("pk", "updated_at"))
    for params in ({"updated_since": "hôm qua"}, {"updated_since": "2026-13-45"}):
        response = client.get(SYNC, params)
        assert response.status_code == 400, (params, response.status_code)
        assert "updated_since" in response.json(), params
    # page_size follows the numbered list's documented rule: out of range or not a number gives the
    # nearest allowed size (at least 1, at most 500), never an error.
    for size in ("-1", "x", "100000"):
        response = client.get(SYNC, {"page_size": size})
        assert response.status_code == 200 and 1 <= len(response.json()["results"]) <= 500
    assert list(Assignment.objects.order_by("pk").values_list("pk", "updated_at")) == before
