"""Webhook SSRF, performed and refused (ASVS 5.0 1.3.6 "SSRF protection", 13.2.4 "allowlisted
outbound destinations"): a redirect into the network, DNS rebinding through a resolver the test
controls, multicast, and the log surviving the webhook's deletion. The HTTP servers are real, on
loopback; Celery runs in-process (eager)."""

from __future__ import annotations

import pytest

from tasks_app import events
from tasks_app.api.models import WebhookDelivery, WebhookEndpoint
from tasks_app.api.webhooks import address_allowed
from tests.test_api_webhooks import Receiver, register

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def eager_celery():
    from accountability.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


class Resolver:
    """Answers for names the test chooses, in turn: e.g. a public address at registration, then
    127.0.0.1 at delivery (DNS rebinding)."""

    answers: dict[str, list[list[str]]] = {}
    asked: list[str] = []

    @classmethod
    def resolve(cls, host: str, port: int) -> list[str]:
        cls.asked.append(host)
        queue = cls.answers[host]
        return queue.pop(0) if len(queue) > 1 else queue[0]


def resolve(host: str, port: int) -> list[str]:
    return Resolver.resolve(host, port)


@pytest.fixture
def resolver(settings):
    settings.WEBHOOK_RESOLVER = "tests.test_webhook_ssrf.resolve"
    Resolver.answers, Resolver.asked = {}, []
    return Resolver


class Redirector(Receiver):
    """Answers every POST with `302 Location: target`."""

    def __init__(self, target: str):
        super().__init__(script=[302] * 50)
        handler = self.server.RequestHandlerClass
        original = handler.do_POST

        def do_post(request_handler):
            body = request_handler.rfile.read(int(request_handler.headers["Content-Length"]))
            self.requests.append((dict(request_handler.headers), body))
            request_handler.send_response(302)
            request_handler.send_header("Location", target)
            request_handler.send_header("Content-Length", "0")
            request_handler.end_headers()

        handler.do_POST = do_post
        self._original = original


def test_a_redirect_into_the_network_is_not_followed(key_a, assignment_a, settings):
    """A public receiver answering `302 → http://127.0.0.1:…` never gets the signed POST delivered
    inside: redirects are not followed and the attempt is recorded as failed."""
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True  # the redirector itself is on loopback in the test
    with Receiver() as internal, Redirector(internal.url) as public:
        register(key_a, public.url, [events.PROGRESS_REPORTED])
        assignment_a.report_progress(by=key_a.obj, percent=10)
        assert len(public.requests) == 1
        assert internal.requests == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.sent_at is None and delivery.response_status == 302
    assert "redirect not followed" in delivery.last_error


def test_dns_rebinding_to_loopback_is_refused_at_delivery(key_a, assignment_a, settings, resolver):
    """The name resolves to a public address when registered and to 127.0.0.1 when the event is
    delivered: the attempt checks the address again and sends nothing."""
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    with Receiver() as internal:
        port = internal.server.server_port
        resolver.answers["hooks.portal.example"] = [["93.184.216.34"], ["127.0.0.1"]]
        register(key_a, f"http://hooks.portal.example:{port}/hook", [events.PROGRESS_REPORTED])
        assignment_a.report_progress(by=key_a.obj, percent=10)
        assert internal.requests == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.sent_at is None and "127.0.0.1" in delivery.last_error and "refused" in delivery.last_error
    assert resolver.asked == ["hooks.portal.example", "hooks.portal.example"]


def test_the_connection_goes_to_the_address_that_was_checked(key_a, assignment_a, settings, resolver):
    """The request is connected to the resolved-and-checked address (pinned), with the name kept in
    the Host header; the system resolver is never asked (it does not know the name)."""
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    with Receiver() as receiver:
        port = receiver.server.server_port
        resolver.answers["hooks.portal.example"] = [["127.0.0.1"]]
        register(key_a, f"http://hooks.portal.example:{port}/hook", [events.PROGRESS_REPORTED])
        assignment_a.report_progress(by=key_a.obj, percent=10)
        ((headers, _body),) = receiver.requests
    assert headers["Host"] == f"hooks.portal.example:{port}"
    assert WebhookDelivery.objects.get().sent_at is not None


@pytest.mark.parametrize(
    "address",
    ["224.0.0.1", "239.255.255.250", "ff02::1", "::ffff:127.0.0.1", "100.64.0.1", "240.0.0.1", "0.0.0.0", "fec0::1"],  # noqa: S104
)
def test_multicast_reserved_and_mapped_addresses_are_refused(key_a, settings, resolver, address):
    """Multicast (224.0.0.1 was accepted), reserved, shared, unspecified and IPv4-mapped addresses."""
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    assert not address_allowed(address)
    resolver.answers["hooks.portal.example"] = [[address]]
    response = key_a.client().post(
        "/api/v1/webhooks/", {"url": "http://hooks.portal.example/h", "events": [events.OVERDUE]}, format="json"
    )
    assert response.status_code == 400 and "url" in response.json()
    literal = f"[{address}]" if ":" in address else address
    response = key_a.client().post(
        "/api/v1/webhooks/", {"url": f"http://{literal}/h", "events": [events.OVERDUE]}, format="json"
    )
    assert response.status_code == 400
    assert not WebhookEndpoint.objects.exists()


def test_a_public_address_is_allowed():
    assert address_allowed("93.184.216.34") and address_allowed("2606:2800:220:1:248:1893:25c8:1946")


def test_the_delivery_log_survives_the_webhooks_deletion(key_a, assignment_a, settings):
    """Deleting a webhook (through the API) keeps its delivery log, with the address it was for."""
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    with Receiver() as receiver:
        hook = register(key_a, receiver.url, [events.PROGRESS_REPORTED])
        assignment_a.report_progress(by=key_a.obj, percent=10)
    assert key_a.client().delete(f"/api/v1/webhooks/{hook['id']}/").status_code == 204
    delivery = WebhookDelivery.objects.get()
    assert delivery.endpoint_id is None and delivery.url == receiver.url and delivery.sent_at is not None
