"""Webhook delivery by a real Celery worker process on Redis, to a real HTTP receiver on loopback.
Faults: a worker killed mid-send and restarted, and Redis restarted during a run with its queued
messages lost. Each ends with every event received, and once per `X-Webhook-Id` (ASVS 5.0 13.x:
reliable integration; issue 12 finding 12)."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import redis
from celery import Celery

from tasks_app.api.models import WebhookDelivery, WebhookEndpoint
from tests.fixtures_reminders import PrivateRedis, SmtpServer, Worker, wait_for, worker_env

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
WORKER_SETTINGS = {
    "WEBHOOK_TIMEOUT": "2",
    "WEBHOOK_CLAIM_TIMEOUT": "3",
    "WEBHOOK_RETRY_BASE_SECONDS": "1",
    "WEBHOOK_RETRY_MAX_SECONDS": "2",
    "WEBHOOK_ALLOW_PRIVATE_URLS": "true",  # the receiver is on loopback
}


class HoldingReceiver:
    """Records every POST's X-Webhook-Id on arrival; while `hold` is set it keeps the sender waiting."""

    def __init__(self):
        self.ids: list[str] = []
        self.hold = threading.Event()
        self.arrived = threading.Event()
        self.delay = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                receiver.ids.append(self.headers["X-Webhook-Id"])
                receiver.arrived.set()
                deadline = time.monotonic() + 30
                while receiver.hold.is_set() and time.monotonic() < deadline:
                    time.sleep(0.05)
                time.sleep(receiver.delay)
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender died while we held it

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def close(self):
        self.hold.clear()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = HoldingReceiver()
    yield r
    r.close()


@pytest.fixture
def deliveries(receiver, portal_key):
    endpoint = WebhookEndpoint.objects.create(api_key=portal_key.obj, url=receiver.url, events=["assignment.overdue"])
    return [
        WebhookDelivery.objects.create(
            endpoint=endpoint, url=receiver.url, event="assignment.overdue", body=f'{{"n": {n}}}'
        )
        for n in range(5)
    ]


@pytest.fixture
def smtp():
    server = SmtpServer()  # worker_env wants one; webhooks do not mail
    server.start()
    yield server
    server.stop()


def all_sent() -> bool:
    return not WebhookDelivery.objects.filter(sent_at__isnull=True).exists()


def assert_each_event_once(receiver, deliveries):
    expected = {str(d.event_id) for d in deliveries}
    assert set(receiver.ids) == expected
    # At least once: a copy is recognisable by its id, so the receiver sees each event once.
    assert len(set(receiver.ids)) == len(expected)


def test_a_worker_killed_mid_send_loses_no_event(receiver, deliveries, redis_url, smtp):
    broker = redis_url
    redis.Redis.from_url(broker).delete("celery")
    worker = Worker(worker_env(broker, smtp, WORKER_SETTINGS))
    worker.start()
    producer = Celery("test-producer", broker=broker, set_as_current=False)
    try:
        first = deliveries[0]
        receiver.hold.set()  # the receiver keeps the worker waiting
        producer.send_task("webhooks.deliver", args=[first.pk])
        assert receiver.arrived.wait(30), worker.output()
        worker.kill()  # SIGKILL mid-send
        first.refresh_from_db()
        assert first.claimed_at is not None and first.sent_at is None and first.attempts == 1
        receiver.hold.clear()
        worker.start()
        time.sleep(3.5)  # past WEBHOOK_CLAIM_TIMEOUT: the dead worker's claim may be taken again
        producer.send_task("webhooks.dispatch")  # the beat's minute tick
        wait_for(all_sent, timeout=60, what="every delivery sent")
    finally:
        worker.stop()
    assert_each_event_once(receiver, deliveries)
    assert WebhookDelivery.objects.get(pk=deliveries[0].pk).attempts == 2


def test_a_redis_restart_loses_no_event(receiver, deliveries, smtp):
    private = PrivateRedis()
    private.start()
    worker = Worker(worker_env(private.url, smtp, WORKER_SETTINGS))
    try:
        worker.start()
        receiver.delay = 0.7  # slow receiver: the run is still going when Redis goes down
        producer = Celery("test-producer", broker=private.url, set_as_current=False)
        for delivery in deliveries:
            producer.send_task("webhooks.deliver", args=[delivery.pk])
        wait_for(lambda: len(receiver.ids) >= 1, what="the first delivery")
        private.kill()  # the queued messages die with it (no persistence)
        private.start()
        receiver.delay = 0
        wait_for(lambda: b"Connected to redis" in open(worker.log.name, "rb").read().split(b"ready.", 1)[-1], 60)
        time.sleep(3.5)  # any claim of a send cut short expires
        Celery("test-producer", broker=private.url, set_as_current=False).send_task("webhooks.dispatch")
        wait_for(all_sent, timeout=60, what="every delivery sent")
    finally:
        worker.stop()
        private.kill()
    assert_each_event_once(receiver, deliveries)
