"""Finding the real services the suite talks to, and what to do when one is missing."""

import os
import socket
from urllib.parse import urlparse

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def postgres_default_url() -> str | None:
    """The local PostgreSQL (trust auth, user postgres) when it answers, else None."""
    if not _answers("127.0.0.1", 5432):
        return None
    return "postgres://postgres@127.0.0.1:5432/accountability"


# Without REDIS_URL the suite uses this database of the local Redis, never the default 0 that a
# development server or worker may be using. Tests that must flush start a redis-server of their
# own (tests/fixtures_reminders.py PrivateRedis) instead of flushing a shared database.
SUITE_REDIS_DB = 15


def redis_url() -> str | None:
    url = os.environ.get("REDIS_URL") or f"redis://127.0.0.1:6379/{SUITE_REDIS_DB}"
    parsed = urlparse(url)
    return url if _answers(parsed.hostname or "127.0.0.1", parsed.port or 6379) else None


def missing(service: str, why: str):
    """Skip on a developer machine; fail under CI=true, where every service must be present."""
    message = f"{service} is not available: {why}"
    if IN_CI:
        pytest.fail(message + " (CI=true: a missing service fails the run)", pytrace=False)
    pytest.skip(message)
