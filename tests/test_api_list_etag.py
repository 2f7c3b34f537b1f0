"""The assignment list's ETag (tasks_app/api/stamps.py): an unchanged page is answered 304, and no
write path ever leaves a 304 stale. Every test commits its writes (transactional), as production
does, so the deferred triggers of migration tasks_api.0004 fire at commit as they would there.

Write paths: a lifecycle step, an API write, the admin, raw SQL UPDATE, bulk_create,
QuerySet.update(), COPY, a delete, a task renamed (what the page shows of the task), a unit
renamed. A change in another unit leaves the page's ETag alone (the stamps are per scope)."""

from __future__ import annotations

import datetime as dt
import importlib
import sqlite3

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tasks_app.models import Assignment, Task, Unit
from tasks_app.status import Status
from tests.conftest import make_assignment
from tests.fixtures_web import ADMIN_DELIVERABLE, admin_edit_deliverable

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

LIST = "/api/v1/assignments/"
stamp_migration = importlib.import_module("tasks_app.api.migrations.0004_i14a_change_stamp")


class Reader:
    """A client that keeps the page it read and its ETag, and asks again with If-None-Match."""

    def __init__(self, key, url=LIST):
        self.client, self.url = key.client(), url
        response = self.client.get(url)
        assert response.status_code == 200, response.content
        assert response["Cache-Control"] == "private, no-cache"
        self.etag, self.body = response["ETag"], response.json()

    def unchanged(self):
        response = self.client.get(self.url, HTTP_IF_NONE_MATCH=self.etag)
        assert response.status_code == 304, "the page did not change: 304 expected"
        assert response["ETag"] == self.etag and response.content == b""

    def changed(self, *, differs=True):
        """After a write the page shows: a conditional request gets the new page, never a 304.
        (`differs=False`: a write the stamps count that this page does not show, a new task.)"""
        response = self.client.get(self.url, HTTP_IF_NONE_MATCH=self.etag)
        assert response.status_code == 200, "stale 304 after a write"
        fresh = self.client.get(self.url).json()
        assert response.json() == fresh and (fresh != self.body or not differs)
        assert response["ETag"] != self.etag
        self.etag, self.body = response["ETag"], fresh
        self.unchanged()  # and the new ETag is answered 304 again
        return fresh


@pytest.fixture
def reader(key_a, assignment_a):
    reader = Reader(key_a)
    reader.unchanged()
    return reader


def row(body, pk):
    return next(r for r in body["results"] if r["id"] == pk)


def test_lifecycle_step(reader, assignment_a, key_a):
    assignment_a.report_progress(by=key_a.obj, percent=40, note="Đã triển khai", links=[])
    assert row(reader.changed(), assignment_a.pk)["progress"] == 40


def test_api_write(reader, assignment_a, key_a):
    response = key_a.client().post(f"/api/v1/assignments/{assignment_a.pk}/progress/", {"percent": 20}, format="json")
    assert response.status_code == 201
    assert row(reader.changed(), assignment_a.pk)["progress"] == 20


def test_admin(reader, assignment_a, admin_client):
    admin_edit_deliverable(admin_client, assignment_a)
    assert row(reader.changed(), assignment_a.pk)["deliverable"] == ADMIN_DELIVERABLE


def test_raw_sql_update(reader, assignment_a):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE tasks_app_assignment SET progress = 77 WHERE id = %s", [assignment_a.pk])
    assert row(reader.changed(), assignment_a.pk)["progress"] == 77


def test_queryset_update(reader, assignment_a):
    Assignment.objects.filter(pk=assignment_a.pk).update(progress=55)
    assert row(reader.changed(), assignment_a.pk)["progress"] == 55


def test_bulk_create(reader, group, commune_a, leader):
    other = Task.objects.create(group=group, code="2026-01-09", number=9, title="Thêm", authority=leader)
    reader.changed(differs=False)  # a new task: counted (meta), not shown yet
    Assignment.objects.bulk_create([Assignment(task=other, unit=commune_a, status=Status.DRAFT)])
    assert len(reader.changed()["results"]) == 2


def test_copy(reader, group, commune_a, leader):
    other = Task.objects.create(group=group, code="2026-01-08", number=8, title="Chép vào", authority=leader)
    reader.changed(differs=False)
    now = timezone.now()
    with connection.cursor() as cursor:
        columns = (
            "task_id, unit_id, role, status, progress, deliverable, acceptance_criteria, return_count, version, "
            "created_at, updated_at"
        )
        with cursor.cursor.copy(f"COPY tasks_app_assignment ({columns}) FROM STDIN") as copy:
            copy.write_row([other.pk, commune_a.pk, "", "draft", 0, "", "", 0, 1, now, now])
    assert {r["task"] for r in reader.changed()["results"]} == {"2026-01-01", "2026-01-08"}


def test_delete(reader, assignment_a):
    Assignment.objects.filter(pk=assignment_a.pk).delete()
    assert reader.changed()["results"] == []


def test_task_renamed(reader, assignment_a):
    Task.objects.filter(pk=assignment_a.task_id).update(title="Tên mới của nhiệm vụ")
    assert row(reader.changed(), assignment_a.pk)["task_title"] == "Tên mới của nhiệm vụ"


def test_unit_renamed(reader, assignment_a):
    Unit.objects.filter(pk=assignment_a.unit_id).update(name="Phường Thành Đông mới")
    assert row(reader.changed(), assignment_a.pk)["unit_name"] == "Phường Thành Đông mới"


def test_a_change_in_another_unit_leaves_the_page_alone(task, head_b, key_b, reader):
    other = make_assignment(task, head_b.unit)
    Assignment.objects.filter(pk=other.pk).update(progress=90)
    reader.unchanged()
    # while commune B's own reader sees it
    b = Reader(key_b)
    Assignment.objects.filter(pk=other.pk).update(progress=91)
    assert row(b.changed(), other.pk)["progress"] == 91


def test_portal_key_and_province(assignment_a, task, head_b, portal_key):
    reader = Reader(portal_key)
    reader.unchanged()
    other = make_assignment(task, head_b.unit)
    assert other.pk in {r["id"] for r in reader.changed()["results"]}


def test_each_query_string_has_its_own_etag_and_a_304_costs_one_query(reader, key_a):
    filtered = Reader(key_a, LIST + "?status=issued")
    assert filtered.etag != reader.etag
    reader.unchanged()  # the key is remembered by now: only the stamp is read
    with CaptureQueriesContext(connection) as queries:
        reader.unchanged()
    assert len(queries) == 1 and "tasks_api_changestamp" in queries[0]["sql"]


def test_a_wrong_etag_gets_the_page(reader):
    response = reader.client.get(LIST, HTTP_IF_NONE_MATCH='"0123456789abcdef01234567", W/"x"')
    assert response.status_code == 200 and response.json() == reader.body


def test_the_next_day_changes_the_etag(reader, monkeypatch):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    monkeypatch.setattr("tasks_app.api.stamps.timezone.localdate", lambda *args, **kwargs: tomorrow)
    response = reader.client.get(LIST, HTTP_IF_NONE_MATCH=reader.etag)
    assert response.status_code == 200


def test_sqlite_triggers_bump_the_stamps():
    """The SQLite equivalent: row triggers in the writing transaction (SQLite has one writer)."""
    db = sqlite3.connect(":memory:")
    db.executescript(
        "CREATE TABLE tasks_api_changestamp (scope varchar(24) PRIMARY KEY, n bigint NOT NULL);"
        "CREATE TABLE tasks_app_unit (id integer PRIMARY KEY, parent_id integer, name text);"
        "CREATE TABLE tasks_app_task (id integer PRIMARY KEY, title text);"
        "CREATE TABLE tasks_app_taskgroup (id integer PRIMARY KEY);"
        "CREATE TABLE tasks_app_official (id integer PRIMARY KEY);"
        "CREATE TABLE tasks_app_assignment (id integer PRIMARY KEY, unit_id integer, progress integer);"
        "INSERT INTO tasks_app_unit VALUES (1, NULL, 'city'), (2, 1, 'a'), (3, 1, 'b');"
    )
    for statement in stamp_migration.sqlite_triggers():
        db.execute(statement)

    def stamps():
        return dict(db.execute("SELECT scope, n FROM tasks_api_changestamp"))

    db.execute("INSERT INTO tasks_app_assignment VALUES (1, 2, 0)")
    assert stamps() == {"all": 1, "u2": 1, "p1": 1}
    db.execute("UPDATE tasks_app_assignment SET unit_id = 3 WHERE id = 1")  # moved: both units
    assert stamps() == {"all": 2, "u2": 2, "u3": 1, "p1": 3}
    db.execute("DELETE FROM tasks_app_assignment")
    assert stamps()["u3"] == 2
    db.execute("INSERT INTO tasks_app_task VALUES (1, 'y')")
    db.execute("UPDATE tasks_app_task SET title = 'x'")
    assert stamps()["meta"] == 2 and stamps()["all"] == 5


def test_a_repeated_query_reuses_its_compiled_statement_and_reads_fresh_rows(key_a, assignment_a):
    """The page's statement is compiled once per key scope, query and day (views.LIST_STATEMENTS),
    prepared on the connection (`$n` parameters), and its rows are read anew every time."""
    from tasks_app.api.views import LIST_STATEMENTS

    client = key_a.client()
    url = LIST + "?status=issued&page_size=7"
    first = client.get(url).json()
    assert any(key[1] == "status=issued&page_size=7" for key in LIST_STATEMENTS.entries)
    Assignment.objects.filter(pk=assignment_a.pk).update(progress=33)
    with CaptureQueriesContext(connection) as queries:
        second = client.get(url).json()
    # One statement: the page, its count and the stamps of its ETag, prepared (`$n` parameters).
    (page,) = [q["sql"] for q in queries.captured_queries]
    assert "list_total" in page and "tasks_api_changestamp" in page and "$1" in page
    assert row(second, assignment_a.pk)["progress"] == 33 and first["count"] == second["count"] == 1


def test_the_page_and_the_stamps_run_as_prepared_statements_on_the_server(key_a, assignment_a):
    """Prepared on the server, not merely bound there: Django opens psycopg connections with
    preparation turned off (`prepare_threshold=None`, for poolers), which made `prepare=True` a
    no-op and every page planned anew (about 2 ms of PostgreSQL CPU a page at 1M assignments). The
    page's statement and the 304's stamp read each appear once in pg_prepared_statements, executed
    as often as they were asked for; nothing else on the connection is prepared."""
    client = key_a.client()
    url = LIST + "?status=issued&page_size=9"
    reader = Reader(key_a, url)
    for _ in range(6):
        assert client.get(url).status_code == 200
        reader.unchanged()

    def prepared_here():
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements")
            return cursor.fetchall()

    statements = prepared_here()
    (page_runs,) = [runs for statement, runs in statements if "list_total" in statement]
    (stamp_runs,) = [runs for statement, runs in statements if "list_total" not in statement]
    assert page_runs == 7 and stamp_runs == 6
    assert all("tasks_api_changestamp" in statement for statement, _runs in statements)
    Unit.objects.filter(pk=key_a.obj.unit_id).update(name="Xã đổi tên")  # outside `prepared()`
    assert len(prepared_here()) == len(statements)


def test_the_early_304_answers_as_the_view_and_counts_the_budget(key_a, assignment_a, settings):
    """conditional.answer_unchanged_lists: same ETag and headers as the view's 304, the key's budget
    counted once, a revoked key refused (not answered 304), a stale ETag sent on to the view."""
    from tasks_app.api import authentication

    reader = Reader(key_a)
    with CaptureQueriesContext(connection) as queries:
        response = reader.client.get(LIST, HTTP_IF_NONE_MATCH=reader.etag)
    assert response.status_code == 304 and response["ETag"] == reader.etag
    assert response["Cache-Control"] == "private, no-cache"
    assert [q["sql"] for q in queries.captured_queries if "tasks_api_changestamp" not in q["sql"]] == []
    # the budget: 3 per minute; this key has used 2 (the Reader's GET, the 304 above)
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": "3/min"}}
    assert reader.client.get(LIST, HTTP_IF_NONE_MATCH=reader.etag).status_code == 304
    assert reader.client.get(LIST, HTTP_IF_NONE_MATCH=reader.etag).status_code == 429
    # revoked: forgotten by this worker at once, so the request goes to DRF, which refuses it
    key_a.obj.revoked = True
    key_a.obj.save()
    assert authentication.remembered_key(f"Bearer {key_a.raw}") is None
    assert reader.client.get(LIST, HTTP_IF_NONE_MATCH=reader.etag).status_code == 401


def test_an_empty_page_read_without_if_none_match_has_no_etag(key_b, commune_a, assignment_a):
    """Its stamps could only be read after it, which could make an older page look current."""
    response = key_b.client().get(LIST)
    assert response.status_code == 200 and response.json()["results"] == []
    assert "ETag" not in response
