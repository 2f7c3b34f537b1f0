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


def redis_url() -> str | None:
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    parsed = urlparse(url)
    return url if _answers(parsed.hostname or "127.0.0.1", parsed.port or 6379) else None


def missing(service: str, why: str):
    """Skip on a developer machine; fail under CI=true, where every service must be present."""
    message = f"{service} is not available: {why}"
    if IN_CI:
        pytest.fail(message + " (CI=true: a missing service fails the run)", pytrace=False)
    pytest.skip(message)
