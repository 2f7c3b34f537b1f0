"""Attacks on sign-in and sessions, each performed and refused. ASVS 5.0 requirement in each docstring."""

import datetime as dt

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from tasks_app.api.models import WebhookEndpoint
from tasks_app.models import Assignment, ExtensionRequest
from tasks_app.status import Status
from tests.fixtures_web import sign_in, sign_in_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_factor_required(settings):
    settings.TWO_FACTOR_REQUIRED_FOR_AUTHORITY = True


def api_session(official, *, verified=False) -> APIClient:
    """The cookie a browser gets from the password step alone (or with the second factor too)."""
    client = APIClient(enforce_csrf_checks=False)
    sign_in(client, official, verified=verified)
    return client


@pytest.mark.usefixtures("two_factor_required")
def test_unenrolled_authority_session_is_refused_on_api_writes(leader, assignment_a, head_a):
    """ASVS 5.0 6.3.3 (multi-factor cannot be bypassed): the password-only session of an authority who
    has not enrolled cannot accept a deliverable, decide an extension or post a KPI score via /api/v1/."""
    Assignment.objects.filter(pk=assignment_a.pk).update(status=Status.SUBMITTED, progress=100)
    extension = ExtensionRequest.objects.create(
        assignment=assignment_a,
        requested_by=head_a,
        current_deadline=assignment_a.deadline,
        requested_deadline=assignment_a.deadline + dt.timedelta(days=30),
        reason="Chờ vốn",
    )
    attacker = api_session(leader)
    writes = [
        (f"/api/v1/assignments/{assignment_a.pk}/accept/", {"note": "đạt"}),
        (f"/api/v1/extension-requests/{extension.pk}/decide/", {"approve": True, "note": "đồng ý"}),
        ("/api/v1/kpi/general-scores/", {"period": "2026-Q1", "unit": assignment_a.unit.code, "points": 30}),
    ]
    for url, body in writes:
        response = attacker.post(url, body, format="json")
        assert response.status_code == 403, (url, response.status_code, response.content[:300])
        assert response["Content-Type"].startswith("application/json")
        assert "hai lớp" in response.json()["detail"]
    assert attacker.get("/api/v1/assignments/").status_code == 403
    assignment_a.refresh_from_db()
    extension.refresh_from_db()
    assert assignment_a.status == Status.SUBMITTED and extension.decided_at is None


@pytest.mark.usefixtures("two_factor_required")
def test_verified_authority_and_plain_officials_keep_their_api_session(leader, official_a, assignment_a):
    """ASVS 5.0 6.3.3: the rule refuses only the unverified authority."""
    assert api_session(leader, verified=True).get("/api/v1/assignments/").status_code == 200
    assert api_session(official_a).get("/api/v1/assignments/").status_code == 200


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.org", "pw-root-123")


def test_admin_without_a_second_factor_is_refused(client, staff):
    """ASVS 5.0 6.3.2 (multi-factor for administrative access): a staff session without a verified
    device gets no admin page, and the admin's own password form is not offered."""
    client.force_login(staff)
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    login = client.get("/admin/login/?next=/admin/")
    assert login.status_code == 302 and login["Location"].startswith(reverse("two_factor:login"))
    assert client.get("/admin/tasks_api/webhookendpoint/").status_code == 302
    # With a device but an unverified session: still refused.
    TOTPDevice.objects.create(user=staff, name="default", confirmed=True)
    assert client.get("/admin/").status_code == 302
    sign_in_user(client, staff, verified=True)
    assert client.get("/admin/").status_code == 200


def test_webhook_secret_is_shown_once_and_can_be_rotated(client, staff, portal_key):
    """ASVS 5.0 13.3.2 (secrets not exposed): the secret is on the page that creates the webhook, on
    no later view of it, and a rotation shows the new one once and invalidates the old."""
    sign_in_user(client, staff, verified=True)
    created = client.post(
        "/admin/tasks_api/webhookendpoint/add/",
        {"api_key": portal_key.obj.pk, "url": "https://portal.example.org/hook", "events": '["assignment.overdue"]'},
    )
    assert created.status_code == 200, created.content[:1500]
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret in created.content.decode()
    assert "no-store" in created["Cache-Control"]
    for url in (
        "/admin/tasks_api/webhookendpoint/",
        f"/admin/tasks_api/webhookendpoint/{endpoint.pk}/change/",
        f"/admin/tasks_api/webhookendpoint/{endpoint.pk}/history/",
    ):
        page = client.get(url)
        assert page.status_code == 200 and endpoint.secret not in page.content.decode(), url
    old = endpoint.secret
    rotated = client.post(
        "/admin/tasks_api/webhookendpoint/",
        {"action": "rotate_secret", "_selected_action": [endpoint.pk]},
    )
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.secret in rotated.content.decode()
    assert old not in rotated.content.decode()


def test_idle_sessions_end_sooner_for_authority_holders(
    client, leader, official_a, assignment_a, time_machine, settings
):
    """ASVS 5.0 7.3.1 (inactivity timeout): an authority's session unused for 16 minutes is over; a
    member's lasts an hour of idleness; every session ends after SESSION_MAX_HOURS anyway."""
    settings.SESSION_IDLE_RESOLUTION_SECONDS = 60
    time_machine.move_to(dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC), tick=False)
    sign_in(client, leader, verified=True)
    assert client.get(reverse("web:dashboard")).status_code == 200
    time_machine.shift(dt.timedelta(minutes=10))
    assert client.get(reverse("web:dashboard")).status_code == 200  # use keeps it alive
    time_machine.shift(dt.timedelta(minutes=16))
    response = client.get(reverse("web:dashboard"))
    assert response.status_code == 302 and "_auth_user_id" not in client.session

    api = api_session(official_a)
    assert api.get("/api/v1/assignments/").status_code == 200
    time_machine.shift(dt.timedelta(minutes=50))
    assert api.get("/api/v1/assignments/").status_code == 200
    time_machine.shift(dt.timedelta(minutes=61))
    assert api.get("/api/v1/assignments/").status_code in (401, 403)


def test_production_serves_the_api_as_json_only_with_bounded_sessions():
    """ASVS 5.0 13.4.x (no debug or developer interfaces in production) and 7.3.2 (absolute session
    lifetime): with DEBUG off the browsable API is gone and sessions last hours, not 14 days."""
    import os
    import subprocess
    import sys

    from django.conf import settings as django_settings

    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "x" * 50,
        "ALLOWED_HOSTS": "tracker.example.org",
        "DJANGO_SETTINGS_MODULE": "accountability.settings",
    }
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.REST_FRAMEWORK['DEFAULT_RENDERER_CLASSES'], s.SESSION_COOKIE_AGE, "
        "s.SESSION_IDLE_TIMEOUT_AUTHORITY_MINUTES)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=django_settings.BASE_DIR, capture_output=True, text=True, check=True
    ).stdout.strip()
    # JSON only: DRF's JSON written by orjson (tasks_app/api/renderers.py), no BrowsableAPIRenderer.
    assert out == "['tasks_app.api.renderers.ApiJSONRenderer'] 43200 15"


@pytest.fixture
def reset_queue(redis_url, settings):
    """The real broker (this area's Redis database): the page publishes, the test plays the worker."""
    import redis

    from accountability.celery import app

    connection = redis.Redis.from_url(redis_url)
    connection.delete("celery")
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield connection
    app.conf.task_always_eager = previous
    connection.delete("celery")


def queued_resets(connection) -> list:
    """The password-reset tasks waiting in the broker, as (args) lists, oldest first."""
    import base64
    import json

    found = []
    while (raw := connection.rpop("celery")) is not None:
        message = json.loads(raw)
        if message["headers"]["task"] == "accounts.send_password_reset":
            args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            found.append(args)
    return found


def ask_reset(client, email, address):
    # The test runs in a transaction: run the on-commit publish as an autocommit request would.
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=address)


@pytest.mark.redis
def test_password_reset_answers_alike_and_mails_from_the_worker(client, official_a, reset_queue):
    """ASVS 5.0 6.4.1-6.4.2 / 6.3.8 (no user enumeration): an existing and an unknown address get the
    same answer in the same time, no mail is sent in the request, and the worker mails only the real
    account."""
    import statistics
    import time

    from django.core import mail

    timings = {"official-a@example.org": [], "nobody@example.org": []}
    for n in range(12):
        for email, seen in timings.items():
            start = time.perf_counter()
            response = ask_reset(client, email, f"10.20.{n}.{len(seen) % 2}")
            seen.append(time.perf_counter() - start)
            assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []  # nothing is mailed inside the request
    known, unknown = (statistics.median(v) for v in timings.values())
    assert abs(known - unknown) < 0.010, timings  # within 10 ms
    from tasks_app.tasks import send_password_reset

    queued = queued_resets(reset_queue)
    assert len(queued) == 2 * 3  # the per-address limit holds for both alike
    for args in queued:
        send_password_reset.apply(args=args)
    assert [m.to for m in mail.outbox] == [["official-a@example.org"]] * 3


@pytest.mark.redis
def test_password_reset_is_limited_per_client_and_per_address(client, official_a, reset_queue):
    """ASVS 5.0 2.4.1 (anti-automation): 20 requests give at most PASSWORD_RESET_PER_ADDRESS mails for
    one address, and one client gets 429 past PASSWORD_RESET_PER_CLIENT requests an hour."""
    for n in range(20):
        assert ask_reset(client, "official-a@example.org", f"10.30.0.{n}").status_code == 302
    assert len(queued_resets(reset_queue)) == 3
    codes = [ask_reset(client, f"someone{n}@example.org", "10.31.0.1").status_code for n in range(12)]
    assert codes == [302] * 10 + [429] * 2
