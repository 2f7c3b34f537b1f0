"""Webhooks against a real HTTP server on loopback: signed JSON, retried after a 500, nothing sent
for a rolled-back change. The Celery task runs in-process (eager, so `delay_on_commit` runs it at
commit, with its retries); real workers are tested with the reminders."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction

from tasks_app import events
from tasks_app.api import webhooks
from tasks_app.api.models import WebhookDelivery, WebhookEndpoint
from tasks_app.api.tasks import deliver_webhook


class Receiver:
    """A loopback HTTP server that answers with the next status of `script` (then 200)."""

    def __init__(self, script=()):
        self.script = list(script)
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                code = receiver.script.pop(0) if receiver.script else 200
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # the OS picks a free port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def eager_celery():
    # In-process: nothing reaches a shared broker, and a commit runs the delivery at once.
    from accountability.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


def register(key, url, events_=("assignment.status_changed", "assignment.progress_reported")):
    response = key.client().post("/api/v1/webhooks/", {"url": url, "events": list(events_)}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def wait_out_backoffs(time_machine, rounds=20):
    """What the beat does over the following hours: each minute the dispatcher enqueues the rows due."""
    import datetime as dt

    from django.conf import settings
    from django.utils import timezone

    from tasks_app.api.tasks import dispatch_webhooks

    for _ in range(rounds):
        time_machine.move_to(timezone.now() + dt.timedelta(seconds=settings.WEBHOOK_RETRY_MAX_SECONDS + 1))
        if not dispatch_webhooks.apply().result:
            return


def run_pending():
    """What a worker would do with anything still unsent: run each delivery, in-process."""
    return [deliver_webhook.apply(args=[d.pk]) for d in WebhookDelivery.objects.filter(sent_at__isnull=True)]


@pytest.mark.django_db(transaction=True)
def test_progress_over_the_api_is_delivered_signed_after_commit(receiver, key_a, assignment_a):
    hook = register(key_a, receiver.url)
    response = key_a.client().post(f"/api/v1/assignments/{assignment_a.pk}/progress/", {"percent": 35}, format="json")
    assert response.status_code == 201

    events_seen = sorted(json.loads(body)["event"] for _, body in receiver.requests)
    assert events_seen == ["assignment.progress_reported", "assignment.status_changed"]
    for headers, body in receiver.requests:
        assert webhooks.verify(hook["secret"], body, headers[webhooks.SIGNATURE_HEADER])
        assert not webhooks.verify("whsec_wrong", body, headers[webhooks.SIGNATURE_HEADER])
        assert not webhooks.verify(hook["secret"], body + b" ", headers[webhooks.SIGNATURE_HEADER])
        assert headers["Content-Type"].startswith("application/json")
    progress = next(json.loads(b) for _, b in receiver.requests if b"progress_reported" in b)
    assert progress["assignment"]["id"] == assignment_a.pk
    assert progress["assignment"]["unit"] == "10507"
    assert progress["data"] == {"percent": 35}
    assert progress["actor"] == "API: Một cửa Thành Đông"
    assert WebhookDelivery.objects.filter(sent_at__isnull=False, response_status=200).count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_500_is_retried_then_delivered_and_logged(key_a, assignment_a, time_machine):
    with Receiver(script=[500, 503]) as receiver:
        hook = register(key_a, receiver.url, ["assignment.progress_reported"])
        assignment_a.report_progress(by=key_a.obj, percent=10)  # commits: the first attempt
        assert len(receiver.requests) == 1
        assert WebhookDelivery.objects.get().next_attempt_at is not None  # backoff recorded on the row
        wait_out_backoffs(time_machine)
    assert len(receiver.requests) == 3
    delivery = WebhookDelivery.objects.get()
    assert (delivery.attempts, delivery.response_status, delivery.last_error) == (3, 200, "")
    assert delivery.sent_at is not None
    # Every attempt carries the same event id, so a receiver can de-duplicate.
    assert len({h["X-Webhook-Id"] for h, _ in receiver.requests}) == 1
    # Each attempt is signed when it is sent (checked as the receiver did then: at its timestamp).
    signed_at = [int(h[webhooks.SIGNATURE_HEADER].split(",")[0][2:]) for h, _ in receiver.requests]
    assert all(
        webhooks.verify(hook["secret"], b, h[webhooks.SIGNATURE_HEADER], now=t)
        for (h, b), t in zip(receiver.requests, signed_at, strict=True)
    )
    # Delivered rows are never sent again.
    assert deliver_webhook.apply(args=[delivery.pk]).result == "skipped"
    assert len(receiver.requests) == 3


@pytest.mark.django_db(transaction=True)
def test_a_receiver_that_keeps_failing_is_given_up_and_recorded(key_a, assignment_a, settings, time_machine):
    with Receiver(script=[500] * 20) as receiver:
        register(key_a, receiver.url, ["assignment.progress_reported"])
        assignment_a.report_progress(by=key_a.obj, percent=10)
        wait_out_backoffs(time_machine)
    delivery = WebhookDelivery.objects.get()
    assert delivery.sent_at is None and delivery.last_error == "HTTP 500" and delivery.dead_at is not None
    assert delivery.attempts == len(receiver.requests) == settings.WEBHOOK_MAX_ATTEMPTS


@pytest.mark.django_db(transaction=True)
def test_nothing_is_recorded_or_sent_for_a_rolled_back_change(receiver, key_a, assignment_a):
    register(key_a, receiver.url)

    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        assignment_a.report_progress(by=key_a.obj, percent=60)
        assert WebhookDelivery.objects.count() == 2  # recorded inside the transaction...
        raise Abort

    assert WebhookDelivery.objects.count() == 0  # ...and gone with it
    run_pending()
    assert receiver.requests == []
    assignment_a.refresh_from_db()
    assert assignment_a.progress == 0


@pytest.mark.django_db(transaction=True)
def test_a_unit_key_gets_only_its_units_events_a_portal_all(
    receiver, key_a, key_b, portal_key, assignment_a, assignment_b
):
    register(key_b, receiver.url, ["assignment.progress_reported"])
    register(portal_key, receiver.url, ["assignment.progress_reported"])
    assignment_a.report_progress(by=key_a.obj, percent=10)
    run_pending()
    keys = {WebhookEndpoint.objects.get(pk=d.endpoint_id).api_key_id for d in WebhookDelivery.objects.all()}
    assert keys == {portal_key.obj.pk}
    assert len(receiver.requests) == 1


@pytest.mark.django_db(transaction=True)
def test_deadline_change_event_on_approved_extension(receiver, key_a, leader, assignment_a):
    register(key_a, receiver.url, [events.DEADLINE_CHANGED])
    import datetime as dt

    extension = assignment_a.request_extension(by=key_a.obj, requested_deadline=dt.date(2026, 9, 30), reason="vốn")
    extension.decide(by=leader, approve=True)
    run_pending()
    (body,) = [json.loads(b) for _, b in receiver.requests]
    assert body["event"] == "assignment.deadline_changed"
    assert body["data"] == {"previous_deadline": "2026-06-30", "deadline": "2026-09-30"}


def test_signature_refuses_an_old_timestamp():
    body = b'{"x": 1}'
    header = webhooks.sign("whsec_s", body, 1_000_000)
    assert webhooks.verify("whsec_s", body, header, now=1_000_000 + 10)
    assert not webhooks.verify("whsec_s", body, header, now=1_000_000 + webhooks.TOLERANCE_SECONDS + 1)
    assert not webhooks.verify("whsec_s", body, "garbage")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {"url": "not a url", "events": ["assignment.status_changed"]},
        {"url": "ftp://x.org/h", "events": ["assignment.status_changed"]},
        {"url": "https://x.org/h", "events": []},
        {"url": "https://x.org/h", "events": ["assignment.deleted"]},
        {"url": "https://x.org/h"},
    ],
)
def test_bad_webhook_registration_is_400(key_a, body):
    response = key_a.client().post("/api/v1/webhooks/", body, format="json")
    assert response.status_code == 400
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_readme_verification_snippet_accepts_a_real_delivery(receiver, key_a, assignment_a):
    from pathlib import Path

    readme = Path(__file__).resolve().parent.parent.joinpath("README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## REST API") :]
    snippet = section[section.index("def verify(") : section.index("```", section.index("def verify("))]
    namespace = {}
    exec("import hashlib, hmac, time\n" + snippet, namespace)  # noqa: S102 (our own README)
    hook = register(key_a, receiver.url, ["assignment.progress_reported"])
    assignment_a.report_progress(by=key_a.obj, percent=5)
    ((headers, body),) = receiver.requests
    assert namespace["verify"](hook["secret"], body, headers[webhooks.SIGNATURE_HEADER])
    assert not namespace["verify"](hook["secret"], body.replace(b"5", b"6"), headers[webhooks.SIGNATURE_HEADER])


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000/x", "http://10.0.0.5/hook", "http://[::1]/h", "http://169.254.169.254/latest"]
)
def test_private_webhook_urls_are_refused_in_production(key_a, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    response = key_a.client().post("/api/v1/webhooks/", {"url": url, "events": [events.OVERDUE]}, format="json")
    assert response.status_code == 400 and "url" in response.json()
    assert not WebhookEndpoint.objects.exists()
