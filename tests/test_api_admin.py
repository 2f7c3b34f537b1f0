"""The admin side of the API: creating a key shows it once, the webhook delivery log is visible."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages

from tasks_app.api.models import ApiKey, WebhookDelivery, WebhookEndpoint
from tests.fixtures_web import sign_in_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.org", "pw-root-123")
    return sign_in_user(client, user, verified=True)


def test_admin_creates_a_unit_key_and_shows_it_once(admin_client, commune_a):
    response = admin_client.post(
        "/admin/tasks_api/apikey/add/",
        {"name": "Một cửa", "unit": commune_a.pk, "is_portal": "", "expiry_date_0": "", "expiry_date_1": ""},
    )
    assert response.status_code == 302, response.content[:2000]
    key = ApiKey.objects.get()
    shown = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert key.prefix in shown
    raw = next(word for word in shown.split() if word.startswith(key.prefix + "."))
    assert ApiKey.objects.get_from_key(raw.strip(".,:;")) == key


def test_delivery_log_lists_attempts_and_errors(admin_client, portal_key, assignment_a):
    endpoint = WebhookEndpoint.objects.create(api_key=portal_key.obj, url="https://p.example.org/h", events=["x"])
    WebhookDelivery.objects.create(
        endpoint=endpoint, event="assignment.overdue", body="{}", attempts=3, response_status=500, last_error="HTTP 500"
    )
    response = admin_client.get("/admin/tasks_api/webhookdelivery/")
    assert response.status_code == 200
    assert b"HTTP 500" in response.content or b"assignment.overdue" in response.content
    detail = admin_client.get(f"/admin/tasks_api/webhookdelivery/{WebhookDelivery.objects.get().pk}/change/")
    assert detail.status_code == 200 and b"HTTP 500" in detail.content
    assert admin_client.get("/admin/tasks_api/apikey/").status_code == 200
    assert admin_client.get("/admin/tasks_api/webhookendpoint/").status_code == 200
