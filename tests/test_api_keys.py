"""API keys: created by command (shown once, stored hashed), revocable, expiring, last-used time,
Bearer scheme, throttled per key; the schema and the offline docs."""

import datetime as dt
import io
import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from tasks_app.api.models import ApiKey

pytestmark = pytest.mark.django_db


def run_create_api_key(*args):
    out = io.StringIO()
    call_command("create_api_key", *args, stdout=out)
    return out.getvalue().strip().splitlines()


def bearer(raw):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_create_api_key_for_a_unit_prints_the_key_alone_on_the_last_line(commune_a, assignment_a):
    lines = run_create_api_key("--unit", "10507", "--name", "Một cửa Thành Đông")
    raw = lines[-1]
    assert re.fullmatch(r"[A-Za-z0-9]{8}\.[A-Za-z0-9]{32}", raw)
    key = ApiKey.objects.get()
    assert (key.name, key.unit, key.is_portal) == ("Một cửa Thành Đông", commune_a, False)
    # Stored hashed: the secret appears nowhere in the row.
    assert raw not in (key.id + key.hashed_key) and raw.split(".")[1] not in key.hashed_key
    response = bearer(raw).get("/api/v1/assignments/")
    assert response.status_code == 200 and response.json()["count"] == 1


def test_create_portal_key_for_one_province(city):
    raw = run_create_api_key("--portal", "--province", "31", "--name", "Cổng thành phố")[-1]
    key = ApiKey.objects.get()
    assert key.is_portal and key.unit is None and key.province == city
    assert bearer(raw).get("/api/v1/units/").status_code == 200


def test_create_national_portal_key_must_say_so(city):
    with pytest.raises(CommandError):
        run_create_api_key("--portal", "--name", "Cổng")
    with pytest.raises(CommandError):
        run_create_api_key("--portal", "--province", "99", "--name", "Cổng")
    assert not ApiKey.objects.exists()
    run_create_api_key("--portal", "--national", "--name", "Cổng toàn quốc")
    assert ApiKey.objects.get().province is None


def test_create_api_key_refuses_an_unknown_unit_and_creates_nothing(db):
    with pytest.raises(CommandError, match="99999"):
        run_create_api_key("--unit", "99999")
    assert not ApiKey.objects.exists()


def test_create_api_key_needs_unit_or_portal(db):
    with pytest.raises(CommandError):
        run_create_api_key("--name", "x")


def test_a_key_is_either_portal_or_a_units(commune_a):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        ApiKey.objects.create_key(name="both", unit=commune_a, is_portal=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        ApiKey.objects.create_key(name="neither")


def test_revoked_key_gets_401(key_a):
    key_a.obj.revoked = True
    key_a.obj.save()
    response = key_a.client().get("/api/v1/units/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_expired_key_gets_401(key_a):
    ApiKey.objects.filter(pk=key_a.obj.pk).update(expiry_date=timezone.now() - dt.timedelta(seconds=1))
    assert key_a.client().get("/api/v1/units/").status_code == 401


def test_key_not_yet_expired_works(key_a):
    ApiKey.objects.filter(pk=key_a.obj.pk).update(expiry_date=timezone.now() + dt.timedelta(days=1))
    assert key_a.client().get("/api/v1/units/").status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer a b",
        "Bearer nothing-like-a-key",
        "Bearer ABCDEFGH.wrongsecret",
        "Bearer \u00e9t\u00e9",
        "Bearer ab\x00c.d",
    ],
)
def test_malformed_or_wrong_bearer_gets_401(key_a, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert client.get("/api/v1/units/").status_code == 401


def test_right_prefix_wrong_secret_gets_401(key_a):
    prefix = key_a.raw.split(".")[0]
    assert bearer(prefix + ".x" * 16).get("/api/v1/units/").status_code == 401


def test_anonymous_gets_401_with_bearer_challenge(db):
    response = APIClient().get("/api/v1/assignments/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_last_used_time_is_recorded(key_a):
    assert key_a.obj.last_used_at is None
    key_a.client().get("/api/v1/units/")
    key_a.obj.refresh_from_db()
    assert key_a.obj.last_used_at is not None
    assert timezone.now() - key_a.obj.last_used_at < dt.timedelta(seconds=30)


def test_throttled_per_key_with_429(key_a, key_b, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": "3/min"}}
    client_a = key_a.client()
    codes = [client_a.get("/api/v1/units/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    throttled = client_a.get("/api/v1/units/")
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0
    # Another key has its own budget.
    assert key_b.client().get("/api/v1/units/").status_code == 200


def test_session_writes_need_csrf(leader, assignment_a):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(leader.user)
    response = client.post(f"/api/v1/assignments/{assignment_a.pk}/accept/", {}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_schema_is_openapi3_with_bearer_scheme_and_every_endpoint(db):
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    paths = schema["paths"]
    for path in [
        "/api/v1/units/",
        "/api/v1/units/{code}/",
        "/api/v1/tasks/",
        "/api/v1/tasks/{code}/",
        "/api/v1/assignments/",
        "/api/v1/assignments/{id}/",
        "/api/v1/assignments/{id}/progress/",
        "/api/v1/assignments/{id}/submit/",
        "/api/v1/assignments/{id}/accept/",
        "/api/v1/assignments/{id}/return/",
        "/api/v1/assignments/{id}/extension-requests/",
        "/api/v1/extension-requests/{id}/decide/",
        "/api/v1/evidence/{id}/download/",
        "/api/v1/webhooks/",
    ]:
        assert path in paths, path
    filters = {p["name"] for p in paths["/api/v1/assignments/"]["get"]["parameters"]}
    assert {
        "unit",
        "role",
        "status",
        "timeliness",
        "group",
        "plan",
        "due_before",
        "due_after",
        "updated_since",
        "search",
        "ordering",
        "page",
        "page_size",
    } <= filters
    page_size = next(p for p in paths["/api/v1/assignments/"]["get"]["parameters"] if p["name"] == "page_size")
    assert page_size["schema"]["maximum"] == 100
    progress = paths["/api/v1/assignments/{id}/progress/"]["post"]
    assert {"201", "400", "401", "403", "404", "409", "412", "429"} <= set(progress["responses"])
    assert any(p["name"] == "If-Match" and p["in"] == "header" for p in progress["parameters"])
    assert "multipart/form-data" in progress["requestBody"]["content"]


def test_docs_work_offline_from_installed_assets(db):
    response = APIClient().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    # No CDN: every script and stylesheet is served by this site, and the files exist in a package.
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and not [a for a in assets if a.startswith(("http:", "https:", "//"))]
    for asset in assets:
        if asset.startswith("/static/"):
            assert finders.find(asset.removeprefix("/static/")), asset
    # No inline script (the site's CSP forbids it): the start-up script is its own response.
    assert "<script>" not in html
    script = APIClient().get("/api/docs/?script=")
    assert script.status_code == 200 and b"/api/schema/" in script.content


def test_validation_errors_follow_accept_language(key_a, assignment_a):
    client = key_a.client()
    url = f"/api/v1/assignments/{assignment_a.pk}/progress/"
    vi = client.post(url, {"percent": "abc"}, format="json")
    en = client.post(url, {"percent": "abc"}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert vi.status_code == en.status_code == 400
    assert en.json()["percent"] == ["A valid integer is required."]
    assert vi.json()["percent"] != en.json()["percent"]
