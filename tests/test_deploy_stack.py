"""The production stack on loopback, from the files in deploy/: nginx (Debian's) with TLS in front of
gunicorn, a Celery worker and beat on Redis, PostgreSQL, and a real SMTP server.

One walk through it, as a commune and its systems would use it: sign in through nginx, call the API
with the unit's key, have the worker send a reminder to the SMTP server; then stop everything and
check that each process ended cleanly. Needs PostgreSQL, Redis and nginx (fails under CI=true
without them; `.ci/run` installs nginx).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import subprocess
import sys
import time

import pytest
import requests
from celery import Celery
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection
from django.utils import timezone

from tasks_app.lifecycle import local_tz
from tasks_app.reminders.models import HolidayOverride, ReminderPolicy
from tests import loopback_stack, services
from tests.conftest import make_assignment
from tests.fixtures_reminders import PrivateRedis, SmtpServer

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]
PASSWORD = "mat-khau-thu-nghiem-2026"  # noqa: S105


def database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def wait_until(predicate, *, timeout: float, what: str, stack=None, logs=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    detail = "".join(f"\n--- {name} ---\n{stack.log(name)[-3000:]}" for name in logs) if stack else ""
    raise AssertionError(f"timed out after {timeout} s waiting for {what}{detail}")


@pytest.fixture
def production(tmp_path, redis_url):
    if loopback_stack.NGINX is None:
        services.missing("nginx", "apt-get install -y nginx (.ci/run does)")
    # A redis-server of the stack's own: no stale tasks of an earlier run, nothing flushed elsewhere.
    private = PrivateRedis()
    private.start()
    broker = private.url
    smtp = SmtpServer()
    smtp.start()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "DJANGO_SETTINGS_MODULE": "accountability.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url(),
        "REDIS_URL": broker,
        "VAR_DIR": str(tmp_path / "var"),
        "STATIC_ROOT": str(tmp_path / "static"),
        "MEDIA_ROOT": str(tmp_path / "uploads"),
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp.port),
        "EMAIL_TIMEOUT": "5",
        "DEFAULT_FROM_EMAIL": "Theo dõi nhiệm vụ <nhiemvu@example.org>",
        "AXES_PROXY_COUNT": "1",
        "LOG_LEVEL": "INFO",
    }
    (tmp_path / "var").mkdir()
    (tmp_path / "uploads").mkdir()
    stack = loopback_stack.Stack(tmp_path, env)
    yield stack, smtp
    stack.stop()
    smtp.stop()
    private.kill()


def client(stack) -> requests.Session:
    """An HTTP client that trusts the stack's self-signed certificate and nothing from the
    environment (no CA bundle or proxy variables of the machine)."""
    session = requests.Session()
    session.trust_env = False
    session.verify = str(stack.workdir / "cert.pem")
    return session


def manage(stack, *args) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=loopback_stack.ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_stack_serves_signs_in_answers_the_api_and_sends_a_reminder(production, task, head_a, head_b):
    stack, smtp = production
    today = timezone.localtime(timezone.now(), local_tz()).date()
    # The head of commune A signs in with a password the production hasher made.
    head_a.user.password = PBKDF2PasswordHasher().encode(PASSWORD, "deploytestsalt")
    head_a.user.save(update_fields=["password"])
    mine = make_assignment(task, head_a.unit, deadline=today + dt.timedelta(days=1))
    make_assignment(task, head_b.unit, deadline=today + dt.timedelta(days=1))
    # Reminders go out today whatever the hour and the day of the week: the policy and the
    # working calendar are data an administrator edits, and the test edits them the same way.
    ReminderPolicy.objects.create(send_hour=0, send_until_hour=24, channels=["email"])
    HolidayOverride.objects.create(date=today, is_working_day=True, name="Ngày làm việc của bài kiểm tra")

    manage(stack, "collectstatic", "--noinput", "-v0")
    key = manage(stack, "create_api_key", "--unit", head_a.unit.code).strip().splitlines()[-1]

    web_port, http_port, https_port = (loopback_stack.free_port() for _ in range(3))
    stack.gunicorn(web_port, workers=2)
    conf = loopback_stack.write_nginx(
        stack.workdir,
        upstream=f"127.0.0.1:{web_port}",
        static_root=stack.workdir / "static",
        http_port=http_port,
        https_port=https_port,
        client_max_body_size="2m",
    )
    stack.nginx(conf, https_port)
    stack.celery("worker", "--loglevel=INFO", "--concurrency=1", "--hostname=deploytest@%h", name="worker")
    beat_schedule = stack.workdir / "var" / "celerybeat-schedule"
    stack.celery("beat", "--loglevel=INFO", f"--schedule={beat_schedule}", name="beat")
    site = f"https://127.0.0.1:{https_port}"
    browser, machine = client(stack), client(stack)

    # Plain HTTP is only a redirect to HTTPS.
    plain = machine.get(f"http://127.0.0.1:{http_port}/assignments/", allow_redirects=False, timeout=10)
    assert plain.status_code == 301
    assert plain.headers["Location"] == "https://127.0.0.1/assignments/"

    # Static files come from nginx, hashed by the manifest and cached for a year.
    manifest = json.loads((stack.workdir / "static" / "staticfiles.json").read_text())
    hashed = manifest["paths"]["admin/css/base.css"]
    static = browser.get(f"{site}/static/{hashed}", timeout=10)
    assert static.status_code == 200
    assert "immutable" in static.headers["Cache-Control"]
    assert static.headers["Server"] == "nginx"  # no version: server_tokens off

    # Sign in through nginx: TLS at nginx, X-Forwarded-Proto honoured (secure cookies, no redirect loop).
    login_url = f"{site}/account/login/"
    page = browser.get(login_url, timeout=10)
    assert page.status_code == 200
    assert "Strict-Transport-Security" in page.headers
    step = re.search(r'name="([\w-]+-current_step)" value="auth"', page.text)
    assert step, page.text[:2000]
    signed_in = browser.post(
        login_url,
        data={
            "csrfmiddlewaretoken": browser.cookies["csrftoken"],
            step.group(1): "auth",
            "auth-username": head_a.user.username,
            "auth-password": PASSWORD,
        },
        headers={"Referer": login_url},
        timeout=10,
    )
    assert signed_in.status_code == 200, signed_in.text[:2000]
    assert "sessionid" in browser.cookies
    session_cookie = next(c for c in browser.cookies if c.name == "sessionid")
    assert session_cookie.secure
    work = browser.get(f"{site}/assignments/", timeout=10)
    assert work.status_code == 200
    assert task.code in work.text

    # The API with the unit's key: its own assignment only.
    machine.headers["Authorization"] = f"Bearer {key}"
    api = machine.get(f"{site}/api/v1/assignments/", timeout=10)
    assert api.status_code == 200, api.text
    ids = [row["id"] for row in api.json()["results"]]
    assert ids == [mine.pk]
    assert api.headers.get("Content-Encoding") == "gzip" or len(api.content) < 1024

    # Bodies above nginx's limit are refused at the door, before gunicorn sees them.
    too_big = machine.post(f"{site}/api/v1/assignments/{mine.pk}/progress/", data=b"x" * (3 << 20), timeout=30)
    assert too_big.status_code == 413

    # A reminder: the sweep goes through Redis to the worker, which records it and mails the head.
    Celery("deploy-test", broker=stack.env["REDIS_URL"], set_as_current=False).send_task("reminders.sweep")
    wait_until(
        lambda: smtp.to(head_a.user.email),
        timeout=60,
        what="the reminder email",
        stack=stack,
        logs=("worker",),
    )
    (message,) = smtp.to(head_a.user.email)
    body = message.get_body(("plain",)).get_content()
    assert task.code in body or task.title in body
    assert head_b.unit.name not in body  # commune B's work goes to commune B only

    # Beat is the clock: within its first minute it hands the periodic dispatch to the worker.
    wait_until(
        lambda: (
            "Sending due task reminders-dispatch" in stack.log("beat")
            and re.search(r"Task reminders\.dispatch\[[\w-]+\] succeeded", stack.log("worker"))
        ),
        timeout=90,
        what="beat's first reminders.dispatch",
        stack=stack,
        logs=("beat", "worker"),
    )

    codes = stack.stop()
    assert codes == {"beat": 0, "worker": 0, "nginx": 0, f"gunicorn-{web_port}": 0}, {
        name: stack.log(name)[-2000:] for name in codes
    }
    for port in (web_port, http_port, https_port):
        with pytest.raises(OSError):
            loopback_stack.wait_for_port(port, timeout=0.5)


class FromAddress(requests.adapters.HTTPAdapter):
    """Connects from a given loopback address (Linux routes all of 127.0.0.0/8 to lo), so nginx
    sees two different clients."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def sign_in_through(stack, site: str, address: str, username: str, password: str, *, forged: str = "") -> int:
    session = client(stack)
    session.mount("https://", FromAddress(address))
    login_url = f"{site}/account/login/"
    page = session.get(login_url, timeout=10)
    found = re.search(r'name="([\w-]+-current_step)" value="auth"', page.text)
    assert found, (page.status_code, page.text[:1000])
    step = found.group(1)
    headers = {"Referer": login_url}
    if forged:  # what an attacker writes hoping to be counted as someone else
        headers["X-Forwarded-For"] = forged
    response = session.post(
        login_url,
        data={
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
            step: "auth",
            "auth-username": username,
            "auth-password": password,
        },
        headers=headers,
        allow_redirects=False,
        timeout=10,
    )
    return response.status_code


def test_an_attacker_behind_nginx_cannot_lock_out_a_user_signing_in_from_elsewhere(production, leader):
    """ASVS 5.0 6.1.1 (no account lockout by an attacker): failures from one client address behind the
    real nginx lock that (user, address) pair only; the user signing in from another address gets in."""
    stack, _smtp = production
    leader.user.password = PBKDF2PasswordHasher().encode(PASSWORD, "deploytestsalt")
    leader.user.save(update_fields=["password"])
    manage(stack, "collectstatic", "--noinput", "-v0")
    web_port, http_port, https_port = (loopback_stack.free_port() for _ in range(3))
    stack.gunicorn(web_port, workers=1)
    conf = loopback_stack.write_nginx(
        stack.workdir,
        upstream=f"127.0.0.1:{web_port}",
        static_root=stack.workdir / "static",
        http_port=http_port,
        https_port=https_port,
    )
    stack.nginx(conf, https_port)
    site = f"https://127.0.0.1:{https_port}"
    user = leader.user.username

    # The attacker at 127.0.0.2 fails five times (each forging a different X-Forwarded-For), then is locked.
    for n in range(5):
        assert sign_in_through(stack, site, "127.0.0.2", user, "wrong", forged=f"198.51.100.{n}") in (200, 429)
    assert sign_in_through(stack, site, "127.0.0.2", user, PASSWORD) == 429
    # Forging the address of the real user's machine does not get the attacker counted as it ...
    assert sign_in_through(stack, site, "127.0.0.2", user, PASSWORD, forged="127.0.0.3") == 429
    # ... and the city leader at 127.0.0.3 signs in (the password step passes: 200 shows the next step
    # or the redirect home, never the lockout page).
    assert sign_in_through(stack, site, "127.0.0.3", user, PASSWORD) == 302
    from axes.models import AccessAttempt

    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"127.0.0.2"}
    # nginx's limit_req: a client hammering the sign-in page is answered 429 by nginx itself.
    hammer = client(stack)
    hammer.mount("https://", FromAddress("127.0.0.4"))
    codes = [hammer.get(f"{site}/account/login/", timeout=10).status_code for _ in range(30)]
    assert codes[:21] == [200] * 21 and 429 in codes[21:]
