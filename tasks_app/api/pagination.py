"""Pages of the API's lists: numbered pages (`?page=N&page_size=M`) and, for sync clients, keyset
pages over `(updated_at, id)` (`AssignmentSyncPagination`, no COUNT)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
from typing import Any

from django.conf import settings
from django.db import connections, router
from django.db.models import Func, IntegerField, Q, Subquery, Value
from django.utils.translation import gettext as django_gettext
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import NotFound
from rest_framework.pagination import BasePagination, PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from tasks_app.models import Assignment


def settled_until() -> dt.datetime:
    """The upper bound of a sync: a moment before which every change of an assignment is committed.

    `updated_at` is written by the application when it saves, before its transaction commits, so
    a sync must not pass the start of a transaction still open: on PostgreSQL the bound is the
    earlier of now and the start of the oldest open transaction of a client (pg_stat_activity;
    a role that cannot read other sessions' start times sees only now), less
    `API_SYNC_MARGIN_SECONDS` (5 s by default: the moment a save computes `updated_at` comes a
    little before its statement reaches the server). The web servers and the database are meant
    to share a clock (one host, or NTP)."""
    margin = dt.timedelta(seconds=getattr(settings, "API_SYNC_MARGIN_SECONDS", 5))
    connection = connections[router.db_for_read(Assignment)]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT least(clock_timestamp(), min(xact_start)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND backend_type = 'client backend' "
                "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
            )
            (oldest,) = cursor.fetchone()
        return oldest - margin
    return dt.datetime.now(dt.UTC) - margin


class ApiPagination(PageNumberPagination):
    """`?page=N&page_size=M`: 50 per page by default, at most 100 (documented in the schema).

    The 404 messages are Django's paginator's, translated by Django's own catalogue (called
    through `django_gettext` so that our catalogues do not copy them), as DRF shows them."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = (
                    f"Results per page: {self.page_size} by default, at most {self.max_page_size} "
                    "(a larger value gives the maximum)."
                )
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
            elif parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
        return parameters

    def page_query(self, queryset, columns, request, **extra):
        """The page of `queryset` as named rows of `columns`, ONE statement: the page's rows carry
        the total as an uncorrelated scalar subquery (`SELECT count(1)` over the same filters, none
        of the page's joins or ordering), which PostgreSQL runs once. Returns (queryset, page
        number, page size), or None for `page=last` (which needs the count first). Answers as
        `paginate_queryset` does: an invalid page number is 404. `extra`: more columns (expressions)."""
        raw = request.query_params.get(self.page_query_param) or "1"
        if raw in self.last_page_strings:
            return None
        try:
            number = int(raw)
        except ValueError:
            number = 0
        if number < 1:
            raise NotFound(
                self.invalid_page_message.format(
                    page_number=raw, message=django_gettext("That page number is not valid")
                )
            )
        size = self.get_page_size(request) or self.page_size
        counted = queryset.values(n=Func(Value(1), function="count", output_field=IntegerField())).order_by()
        paged = queryset.annotate(list_total=Subquery(counted), **extra).values_list(
            *columns, "list_total", *extra, named=True
        )
        return paged[(number - 1) * size : number * size], number, size

    def take(self, rows: list, number: int, size: int, request) -> list:
        """The page's rows read: a page past the last one is 404 (page 1 may be empty)."""
        self.request = request
        if not rows and number > 1:
            raise NotFound(
                self.invalid_page_message.format(
                    page_number=number, message=django_gettext("That page contains no results")
                )
            )
        self.count = rows[0].list_total if rows else 0
        self.number = number
        self.size = size
        self.page = None  # get_paginated_response below reads the fields above
        return rows

    def paginate_rows(self, queryset, columns, request, view=None) -> list:
        """One page of `queryset` as named rows of `columns`, in one statement (`page_query`)."""
        found = self.page_query(queryset, columns, request)
        if found is None:  # `page=last`: the two-statement path
            return list(self.paginate_queryset(queryset.values_list(*columns, named=True), request, view) or [])
        paged, number, size = found
        return self.take(list(paged), number, size, request)

    def get_paginated_response(self, data):
        if self.page is not None:
            return super().get_paginated_response(data)
        return Response(
            {"count": self.count, "next": self.get_next_link(), "previous": self.get_previous_link(), "results": data}
        )

    def get_next_link(self):
        if self.page is not None:
            return super().get_next_link()
        if self.number * self.size >= self.count:
            return None
        assert self.request is not None  # noqa: S101 (set by paginate_rows)
        return page_link(self.request.build_absolute_uri(), self.page_query_param, self.number + 1)

    def get_previous_link(self):
        if self.page is not None:
            return super().get_previous_link()
        if self.number == 1:
            return None
        assert self.request is not None  # noqa: S101 (set by paginate_rows)
        return page_link(self.request.build_absolute_uri(), self.page_query_param, self.number - 1)


@functools.lru_cache(maxsize=1024)
def page_link(url: str, param: str, number: int) -> str:
    """`url` pointing at page `number` as DRF's PageNumberPagination writes it (no parameter for
    page 1); remembered, since a client pages through the same URLs again and again (parsing and
    re-encoding the query string was a tenth of the list's own CPU)."""
    if number == 1:
        return remove_query_param(url, param)
    return replace_query_param(url, param, number)


class AssignmentSyncPagination(BasePagination):
    """Keyset pages for sync clients: rows ordered by `(updated_at, id)`, each page starting after
    the last row of the one before (`next` carries it in `cursor`), no COUNT and no OFFSET.

    The first page fixes the sync's upper bound, `until`: the moment before which every change is
    committed (now, or the start of the oldest transaction still open on PostgreSQL, whichever is
    earlier). Every page of the sync stops at it, so a row changed while the client pages is not
    shown twice in one sync, and no row is skipped by rows moving between pages; the last page
    gives `until` back as `next_since`, the `updated_since` of the next sync, which shows the rows
    changed meanwhile. The cursor is opaque (base64 of the position and `until`)."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500
    cursor_query_param = "cursor"
    invalid_cursor_message = _("Con trỏ trang không hợp lệ.")

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        try:
            size = int(raw) if raw else self.page_size
        except ValueError:
            size = self.page_size
        return max(1, min(size, self.max_page_size))

    @staticmethod
    def encode(until: dt.datetime, after: tuple[dt.datetime, int] | None) -> str:
        text = until.astimezone(dt.UTC).isoformat()
        if after is not None:
            text += f"|{after[0].astimezone(dt.UTC).isoformat()}|{after[1]}"
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    def decode(self, raw: str) -> tuple[dt.datetime, tuple[dt.datetime, int] | None]:
        try:
            text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
            parts = text.split("|")
            until = dt.datetime.fromisoformat(parts[0])
            after = None
            if len(parts) == 3:
                after = (dt.datetime.fromisoformat(parts[1]), int(parts[2]))
            elif len(parts) != 1:
                raise ValueError(text)
            if until.tzinfo is None or (after is not None and (after[0].tzinfo is None or not 0 < after[1] < 2**63)):
                raise ValueError(text)
        except (ValueError, UnicodeDecodeError, binascii.Error, OverflowError) as error:
            raise NotFound(self.invalid_cursor_message) from error
        return until, after

    def paginate_rows(self, queryset, columns, request, view=None, *, settled) -> list:
        """One page of `queryset` as named rows of `columns` (which include `updated_at` and `id`).
        `settled()` gives the sync's upper bound on its first page."""
        self.request = request
        raw = request.query_params.get(self.cursor_query_param)
        until, after = self.decode(raw) if raw else (settled(), None)
        rows = queryset.filter(updated_at__lt=until)
        if after is not None:
            rows = rows.filter(Q(updated_at__gt=after[0]) | Q(updated_at=after[0], id__gt=after[1]))
        size = self.get_page_size(request)
        page = list(rows.order_by("updated_at", "id").values_list(*columns, named=True)[: size + 1])
        self.until = until
        self.has_next = len(page) > size
        page = page[:size]
        self.last = (page[-1].updated_at, page[-1].id) if page else after
        return page

    def get_next_link(self) -> str | None:
        if not self.has_next or self.last is None:
            return None
        return replace_query_param(
            self.request.build_absolute_uri(), self.cursor_query_param, self.encode(self.until, self.last)
        )

    def get_paginated_response(self, data) -> Response:
        next_link = self.get_next_link()
        return Response(
            {
                "next": next_link,
                "next_since": None if next_link else self.until.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["next", "next_since", "results"],
            "properties": {
                "next": {
                    "type": "string",
                    "nullable": True,
                    "format": "uri",
                    "description": "The next page (same filters, `cursor` set); null on the sync's last page.",
                },
                "next_since": {
                    "type": "string",
                    "nullable": True,
                    "format": "date-time",
                    "description": "On the last page: the `updated_since` of the next sync; null before.",
                },
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view) -> list[dict[str, Any]]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "The position in the sync, as given in `next` (opaque); absent on the first page.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": (
                    f"Results per page: {self.page_size} by default, at most {self.max_page_size} "
                    "(a larger value gives the maximum)."
                ),
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]
