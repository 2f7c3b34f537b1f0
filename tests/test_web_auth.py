"""Sign-in: the two-factor wizard, lockout with a cool-off, two factors required of authorities,
password reset by email, and the production security settings."""

import datetime as dt
import os
import re
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.fixtures_web import sign_in

pytestmark = pytest.mark.django_db
LOGIN = "/account/login/"


def password_step(client, username, password, **extra):
    return client.post(
        LOGIN,
        {"login_view-current_step": "auth", "auth-username": username, "auth-password": password},
        REMOTE_ADDR=extra.get("ip", "127.0.0.1"),
    )


def test_an_official_without_a_device_signs_in_with_a_password(client, official_a):
    response = password_step(client, "official-a", "pw-official-a")
    assert response.status_code == 302
    assert client.get(reverse("web:home")).status_code == 200


def test_an_official_with_a_device_must_give_the_token(client, leader, time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC))
    device = TOTPDevice.objects.create(user=leader.user, name="default", confirmed=True)
    response = password_step(client, "city-leader", "pw-city-leader")
    assert response.status_code == 200 and "token-otp_token" in response.content.decode()
    bad = client.post(LOGIN, {"login_view-current_step": "token", "token-otp_token": "000000"})
    assert bad.status_code == 200 and "_auth_user_id" not in client.session
    time_machine.shift(dt.timedelta(seconds=5))  # django-otp throttles the next try after a failure
    good = client.post(LOGIN, {"login_view-current_step": "token", "token-otp_token": f"{totp(device.bin_key):06d}"})
    assert good.status_code == 302
    assert client.session["otp_device_id"] == device.persistent_id


def test_repeated_failures_lock_out_for_a_cool_off_only_that_client(client, official_a, settings, time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC), tick=False)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        password_step(client, "official-a", "wrong")
    locked = password_step(client, "official-a", "pw-official-a")
    assert locked.status_code == 429
    assert "Tạm khóa đăng nhập" in locked.content.decode() and "15 phút" in locked.content.decode()
    # The same user from another address is not locked out (an attacker cannot lock a user out).
    assert password_step(client, "official-a", "pw-official-a", ip="10.9.9.9").status_code == 302
    client.logout()
    # After the cool-off the first address may sign in again.
    time_machine.move_to(dt.datetime(2026, 3, 2, 8, 16, tzinfo=dt.UTC), tick=False)
    assert password_step(client, "official-a", "pw-official-a").status_code == 302


@pytest.mark.usefixtures("eager_celery")
def test_a_password_reset_lifts_the_lock(
    client, official_a, settings, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to(dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC), tick=False)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        password_step(client, "official-a", "wrong")
    assert password_step(client, "official-a", "pw-official-a").status_code == 429
    # The lock page's advice: reset the password by e-mail.
    with django_capture_on_commit_callbacks(execute=True):  # the mail leaves through a (here eager) worker
        client.post(reverse("password_reset"), {"email": official_a.user.email})
    link = re.search(r"/accounts/reset/[^/]+/[^/\s]+/", mail.outbox[-1].body).group(0)
    form_url = client.get(link)["Location"]  # Django swaps the token for a session key
    done = client.post(form_url, {"new_password1": "Hai-Phong-2026-moi", "new_password2": "Hai-Phong-2026-moi"})
    assert done.status_code == 302
    # Within the cool-off, the same address signs in with the new password at once.
    assert password_step(client, "official-a", "Hai-Phong-2026-moi").status_code == 302
    client.logout()
    assert password_step(client, "official-a", "pw-official-a").status_code == 200  # the old one is gone


@pytest.fixture
def two_factor_required(settings):
    settings.TWO_FACTOR_REQUIRED_FOR_AUTHORITY = True


@pytest.mark.usefixtures("two_factor_required")
def test_authority_without_two_factor_is_sent_to_set_it_up(client, leader, head_b, task, assignment_b):
    sign_in(client, leader)
    response = client.get(reverse("web:home"))
    assert response.status_code == 302 and response["Location"] == reverse("two_factor:setup")
    assert client.get(reverse("two_factor:setup")).status_code == 200
    # A unit head who is the authority of an assignment is held to the same rule.
    from tasks_app.models import Assignment

    Assignment.objects.filter(pk=assignment_b.pk).update(authority=head_b)
    sign_in(client, head_b)
    assert client.get(reverse("web:dashboard")).status_code == 302


@pytest.mark.usefixtures("two_factor_required")
def test_authority_with_a_device_but_an_unverified_session_signs_in_again(client, leader):
    TOTPDevice.objects.create(user=leader.user, name="default", confirmed=True)
    sign_in(client, leader)
    response = client.get(reverse("web:dashboard"))
    assert response.status_code == 302 and response["Location"].startswith(LOGIN + "?next=")


@pytest.mark.usefixtures("two_factor_required")
def test_verified_authority_and_plain_members_pass(client, leader, official_a, assignment_a):
    assert sign_in(client, leader, verified=True).get(reverse("web:dashboard")).status_code == 200
    assert sign_in(client, official_a).get(reverse("web:home")).status_code == 200


@pytest.fixture
def eager_celery():
    # The reset mail is sent by a Celery task; here it runs in-process at once.
    from accountability.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.mark.usefixtures("eager_celery")
def test_password_reset_by_email_end_to_end(client, official_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the mail task is enqueued on commit
        response = client.post(reverse("password_reset"), {"email": "official-a@example.org"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["official-a@example.org"] and "Đặt lại mật khẩu" in message.subject
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+)", message.body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200 and form_page.context["validlink"]
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "Hai-Phong-2026-moi", "new_password2": "Hai-Phong-2026-moi"},
    )
    assert done.status_code == 302
    client.logout()
    assert password_step(client, "official-a", "Hai-Phong-2026-moi").status_code == 302
    # An unknown address gets the same answer and no email (nothing to learn about accounts).
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("password_reset"), {"email": "nobody@example.org"}).status_code == 302
    assert len(mail.outbox) == 1


def test_sign_out_is_post_only_and_ends_the_session(client, official_a):
    sign_in(client, official_a)
    assert client.get(reverse("logout")).status_code == 405
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("web:home")).status_code == 302


def test_production_settings_set_secure_cookies_hsts_and_csp():
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "x" * 50,
        "ALLOWED_HOSTS": "tracker.example.org",
        "DJANGO_SETTINGS_MODULE": "accountability.settings",
    }
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS > 0, s.SESSION_COOKIE_HTTPONLY, "
        "s.CONTENT_SECURITY_POLICY['DIRECTIVES']['script-src'], s.STORAGES['staticfiles']['BACKEND'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=django_settings.BASE_DIR, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "True True True True [\"'self'\"] whitenoise.storage.CompressedManifestStaticFilesStorage"
