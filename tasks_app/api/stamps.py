"""The assignment list's ETag: a per-scope change stamp the database keeps, read in one query.

The triggers of migration `tasks_api.0004_i14a_change_stamp` bump `ChangeStamp` rows on every
committed change of a table the list reads (assignments, tasks, task groups, units, officials),
whatever wrote it: the ORM, `QuerySet.update()`, `bulk_create`, raw SQL, `COPY`, `TRUNCATE`.

- PostgreSQL: a `DEFERRABLE INITIALLY DEFERRED` constraint trigger per row, so the counters are
  bumped at commit, once per transaction and scope (a transaction-local setting remembers which),
  and their row locks are held only while the transaction commits. Every bump takes `all` first:
  committing writers queue on that one row, so they never deadlock on the others, and each later
  commit sees the earlier one's counters. `TRUNCATE` bumps `all` and `meta` (statement triggers).
- SQLite: plain row triggers in the writing transaction (SQLite has one writer at a time).

Scopes: a unit key reads `u<unit>` and `meta`, a province's portal key `p<province>` and `meta`, a
national key and every signed-in user `all` (an official also sees the work they answer for or
hold authority over, in any unit). A change to a unit's assignment bumps `u<unit>`, `p<its province>`
and `all`; a change to a task, group, unit or official bumps `meta` and `all`.

Why a 304 is never stale: the stamp is read before the page is computed, or by the page's own
statement (one snapshot), so the page a client holds is at least as new as its ETag says. A commit that changes anything the page shows bumps a counter
the ETag covers, and the new value is visible no later than the change (same commit). So if the
counters still equal the client's, nothing its page shows has changed since. The ETag also covers
the scope, the query string, and the local date (timeliness moves with it).
"""

from __future__ import annotations

import hashlib

from django.db import connections
from django.db.models import TextField
from django.db.models.expressions import RawSQL
from django.utils import timezone

from tasks_app.scope import ActorScope

ALL = "all"
META = "meta"


def scopes_of(scope: ActorScope, user_id: int | None) -> tuple[tuple[str, ...], str]:
    """The stamps that cover what this actor's list shows, and whose view it is (`user_id` for a
    signed-in user, None for a key)."""
    if user_id is not None:
        return (ALL,), f"user{user_id}"
    if scope.province_wide and scope.province_id is not None:
        return (f"p{scope.province_id}", META), f"p{scope.province_id}"
    if scope.unit_id is not None and not scope.wide and scope.official_id is None:
        return (f"u{scope.unit_id}", META), f"u{scope.unit_id}"
    return (ALL,), "nation" if scope.sees_all else "none"


def _stamps_sql(scopes: tuple[str, ...], vendor: str) -> str:
    # The counters as one text, e.g. `meta=3,u5=12` (a scope never bumped is absent, as 0 would be).
    placeholders = ", ".join(["%s"] * len(scopes))
    if vendor == "postgresql":
        return (
            "SELECT coalesce(string_agg(scope || '=' || n, ',' ORDER BY scope), '') "  # noqa: S608
            f"FROM tasks_api_changestamp WHERE scope IN ({placeholders})"
        )
    return (  # SQLite before 3.44 has no string_agg and no ORDER BY in an aggregate
        "SELECT coalesce(group_concat(stamp, ','), '') FROM (SELECT scope || '=' || n AS stamp "  # noqa: S608
        f"FROM tasks_api_changestamp WHERE scope IN ({placeholders}) ORDER BY scope)"
    )


def read(scopes: tuple[str, ...], alias: str) -> str:
    """The counters of the scopes, in one indexed query, from the database the list's rows are
    read from (`alias`)."""
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(_stamps_sql(scopes, connection.vendor), list(scopes))
        return cursor.fetchone()[0]


def in_statement(scopes: tuple[str, ...], alias: str) -> RawSQL:
    """The same counters as a column of the page's own statement: read in the page's snapshot, so
    the ETag is exactly the page's, and no round trip of its own."""
    sql = _stamps_sql(scopes, connections[alias].vendor)
    return RawSQL(f"({sql})", list(scopes), output_field=TextField())  # noqa: S611 (fixed SQL, values as parameters)


def list_etag(request, counters: str, identity: str) -> str:
    """A strong ETag for one list page: the counters, whose view it is, the query, the day. (Not the
    language: the list's rows carry codes, never translated text.)"""
    text = "|".join(
        [identity, counters, request.path, request.META.get("QUERY_STRING", ""), timezone.localdate().isoformat()]
    )
    return '"' + hashlib.blake2b(text.encode(), digest_size=12).hexdigest() + '"'


def if_none_match(request, etag: str) -> bool:
    """Whether the request's If-None-Match names this ETag (weak comparison, as RFC 9110 says for GET)."""
    header = request.headers.get("If-None-Match")
    if not header:
        return False
    if header.strip() == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == bare for tag in header.split(","))
