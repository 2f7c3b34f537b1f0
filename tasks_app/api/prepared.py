"""Prepared statements for the API list's queries on PostgreSQL.

Django binds parameters on the client and never prepares (so that connection poolers in
transaction mode keep working), so PostgreSQL plans every statement anew: for the assignment page,
a join of six tables, planning takes longer than running it. Inside `prepared()`, the queries
Django runs on the connection go through a server-binding psycopg cursor with `prepare=True`:
each shape of statement is prepared once per connection and its plan cached by PostgreSQL
(a generic plan after five executions, when not costlier than the custom ones), with Django's
compilation, converters and query logging unchanged. `API_PREPARED_STATEMENTS = False` turns it
off (e.g. behind PgBouncer in transaction mode before 1.21).

Django opens its psycopg connections with `prepare_threshold=None`, which makes psycopg ignore
`prepare=True` altogether; `prepared()` lends the connection a threshold for its duration (never
reached: only the statements run inside are prepared) and gives `None` back after, so nothing
else Django runs on that connection is ever prepared. tests/test_api_list_etag.py reads
pg_prepared_statements to check it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connections


def _cursor_class() -> Any:
    from django.db.backends.postgresql.base import ServerBindingCursor  # type: ignore[attr-defined]

    class PreparingCursor(ServerBindingCursor):
        # Set by Statement.rows: results in PostgreSQL's binary format (see Statement).
        binary_results = False

        def _convert_query(self, query, params=None):
            self._converted = super()._convert_query(query, params)
            return self._converted

        def execute(self, query, params=None, *, prepare=None, binary=None):
            super().execute(query, params, prepare=True, binary=binary or self.binary_results)
            if self._query is None:  # type: ignore[has-type]
                # Run as a prepared statement, psycopg keeps no text of it: Django's query log
                # (last_executed_query) shows the statement as sent, with its `$n` parameters.
                self._query = self._converted
            return self

    return PreparingCursor


_PREPARING: Any = None
# A psycopg prepare threshold no statement reaches by repetition: only `prepare=True` prepares.
ONLY_WHEN_ASKED = 2**31 - 1


@contextmanager
def prepared(alias: str) -> Iterator[None]:
    connection = connections[alias]
    if connection.vendor != "postgresql" or not getattr(settings, "API_PREPARED_STATEMENTS", True):
        yield
        return
    global _PREPARING
    if _PREPARING is None:
        _PREPARING = _cursor_class()
    connection.ensure_connection()
    psycopg_connection = connection.connection
    threshold = psycopg_connection.prepare_threshold
    original = connection.create_cursor

    def create_cursor(name=None):
        if name:  # a named (server-side) cursor: Django's own
            return original(name)
        return _PREPARING(connection.connection)

    connection.create_cursor = create_cursor  # type: ignore[method-assign]
    if threshold is None:
        psycopg_connection.prepare_threshold = ONLY_WHEN_ASKED
    try:
        yield
    finally:
        del connection.create_cursor
        psycopg_connection.prepare_threshold = threshold


class Statement:
    """A compiled `values_list(named=True)` query: its SQL, parameters and row class, run again
    without building, filtering or compiling the queryset (the rows are read anew each time).

    Inside `prepared()` its rows come in PostgreSQL's binary format, which psycopg reads with its C
    loaders: Django's own loader of `timestamptz` (text, in Python) cost a fifth of the assignment
    page's web CPU. For columns of integers, text, dates and moments (the values are the same
    Python objects, moments aware in the connection's UTC); not for `jsonb` or `inet`, which Django
    reads as text."""

    def __init__(self, queryset) -> None:
        from django.core.exceptions import EmptyResultSet
        from django.db.models.utils import create_namedtuple_class

        self.alias = queryset.db
        self.row = create_namedtuple_class(*queryset._fields)
        self.compiler = queryset.query.get_compiler(using=self.alias)
        try:
            self.sql, self.params = self.compiler.as_sql()
        except EmptyResultSet:
            self.sql, self.params = "", ()
        # What Django converts after reading (the count's int()), applied as Django applies it.
        self.converters = (
            self.compiler.get_converters([column[0] for column in self.compiler.select]) if self.sql else {}
        )

    def rows(self) -> list:
        if not self.sql:
            return []
        with connections[self.alias].cursor() as cursor:
            if isinstance(cursor.cursor, _PREPARING or ()):
                cursor.cursor.binary_results = True
            cursor.execute(self.sql, self.params)
            rows = cursor.fetchall()
        if self.converters:
            rows = self.compiler.apply_converters(rows, self.converters)
        new = tuple.__new__
        return [new(self.row, values) for values in rows]


class StatementCache:
    """Compiled statements of one process by the request's inputs (who asks, the query string,
    the local date): a repeated request pays django-filter's form and the ORM's compilation once.
    Bounded: emptied when it holds `size` statements."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self.entries: dict[Any, Any] = {}

    def get(self, key: Any) -> Any:
        return None if key is None else self.entries.get(key)

    def put(self, key: Any, value: Any) -> None:
        if key is None:
            return
        if len(self.entries) >= self.size:
            self.entries.clear()
        self.entries[key] = value
