"""Reads scaled out to a PostgreSQL streaming replica, with read-your-writes.

With `DATABASE_REPLICA_URL` set, settings add a `replica` database. The heavy reads (the
dashboards, the national view, KPI, reports and exports) are marked with `@reads_from_replica`:
while such a view handles a GET, `ReplicaRouter` sends the reads of the domain's tables to the
replica. Everything else reads from the primary, and every write goes to the primary (the router
never sends a write anywhere else): the web and API writes, the sweep, the workers.

Read-your-writes: a request that writes (POST, PUT, PATCH, DELETE) pins its author (the signed-in
user, or the API key by a hash of its header) to the primary for `DATABASE_REPLICA_PIN_SECONDS`,
recorded in the cache that every web process shares. A replica that lags therefore never shows a
writer an older state of their own change; others may see it up to the replica's lag later.

A replica that cannot be reached is marked down for `DATABASE_REPLICA_RETRY_SECONDS` in this
process and the view runs again on the primary, so the site keeps working without it.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from contextvars import ContextVar, Token
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections

REPLICA = "replica"
# Only the domain's tables are read from the replica: sessions, users, API keys and sign-in
# lockouts always come from the primary, so signing in never waits for replication.
REPLICA_APPS = frozenset({"tasks_app", "kpi", "reminders"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

logger = logging.getLogger(__name__)
_reading_replica: ContextVar[bool] = ContextVar("reading_replica", default=False)
_down_until = 0.0


def configured() -> bool:
    return REPLICA in connections.settings


def _pin_seconds() -> int:
    return int(getattr(settings, "DATABASE_REPLICA_PIN_SECONDS", 30))


def _pin_keys(request: Any) -> list[str]:
    """Who the request is, for the pin: its signed-in user and its API key (by a hash of the header)."""
    keys = []
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        keys.append(f"replica:pin:user:{user.pk}")
    header = request.META.get("HTTP_AUTHORIZATION")
    if header:
        keys.append("replica:pin:key:" + hashlib.sha256(header.encode()).hexdigest()[:32])
    return keys


def pin_to_primary(request: Any) -> None:
    """Read this author's next requests from the primary for the pin time (after their write)."""
    keys = _pin_keys(request)
    if keys:
        cache.set_many(dict.fromkeys(keys, True), _pin_seconds())


def is_pinned(request: Any) -> bool:
    keys = _pin_keys(request)
    return bool(keys) and bool(cache.get_many(keys))


def mark_down(reason: object) -> None:
    global _down_until
    _down_until = time.monotonic() + int(getattr(settings, "DATABASE_REPLICA_RETRY_SECONDS", 30))
    connections[REPLICA].close()
    logger.warning("read replica unavailable, reading from the primary: %s", reason)


def usable() -> bool:
    """Configured, not marked down, and answering (a connection is opened if none is)."""
    if not configured() or time.monotonic() < _down_until:
        return False
    try:
        connections[REPLICA].ensure_connection()
    except (OperationalError, InterfaceError) as exc:
        mark_down(exc)
        return False
    return True


def reads_from_replica(view: Callable) -> Callable:
    """Mark a read-heavy view: its GETs read the domain's tables from the replica, unless the
    author has just written (read-your-writes) or the replica is not usable."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in SAFE_METHODS or is_pinned(request) or not usable():
            return view(request, *args, **kwargs)
        token: Token[bool] | None = _reading_replica.set(True)
        try:
            return view(request, *args, **kwargs)
        except (OperationalError, InterfaceError) as exc:
            # The replica went away mid-request: once more, on the primary.
            mark_down(exc)
            _reading_replica.reset(token)  # type: ignore[arg-type]  # set just above
            token = None
            return view(request, *args, **kwargs)
        finally:
            if token is not None:
                _reading_replica.reset(token)

    return wrapper


def pin_writers(get_response):
    """Middleware: a request that writes pins its author to the primary (read-your-writes)."""

    def middleware(request):
        response = get_response(request)
        if request.method not in SAFE_METHODS and configured():
            pin_to_primary(request)
        return response

    return middleware


class ReplicaRouter:
    """Reads of the domain's tables inside `@reads_from_replica` go to the replica; the rest and
    every write go to the primary. Migrations run on the primary only (the replica copies them)."""

    def db_for_read(self, model, **hints) -> str | None:
        if _reading_replica.get() and model._meta.app_label in REPLICA_APPS:
            return REPLICA
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True  # one database, copied

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        return db != REPLICA
