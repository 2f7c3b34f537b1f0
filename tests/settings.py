"""Settings for the test suite.

The suite runs on PostgreSQL when DATABASE_URL is set or a server answers on 127.0.0.1:5432,
and on SQLite otherwise (tests marked `postgres` then skip, or fail under CI=true).
"""

import os
import tempfile

from tests.services import postgres_default_url

if not os.environ.get("DATABASE_URL"):
    url = postgres_default_url()
    if url:
        os.environ["DATABASE_URL"] = url

os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="accountability-test-"))

from accountability.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = tempfile.mkdtemp(prefix="accountability-uploads-")
# Tests sign officials in with force_login, which has no second factor; the web tests turn the
# requirement back on where they test it (tests/test_web_auth.py, the browser journey).
TWO_FACTOR_REQUIRED_FOR_AUTHORITY = False

# Close connections after each request: live-server and worker threads would otherwise keep the
# test database open past the run and stop pytest-django from dropping it.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# Many tests call the API anonymously from 127.0.0.1 within a minute; the throttle's own test
# lowers this (tests/test_security_input.py).
ANON_THROTTLE_RATE = "100000/min"
# A session records its use at most hourly here, so the query-count tests stay exact when a loaded
# machine takes minutes between two requests; the idle-timeout test sets it back to a minute.
SESSION_IDLE_RESOLUTION_SECONDS = 3600
