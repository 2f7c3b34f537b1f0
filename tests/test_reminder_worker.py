"""A real Celery worker process on Redis, sending to a real SMTP server, against the test database.
Fault tests: a worker killed mid-send and restarted, and Redis restarted during a run; each ends
with every reminder delivered exactly once."""

import datetime as dt
import time

import pytest
from celery import Celery

from tasks_app.models import Unit
from tasks_app.reminders.models import Delivery, DueDigest
from tasks_app.reminders.sweep import run_sweep
from tests.conftest import make_assignment, make_official
from tests.fixtures_reminders import PrivateRedis, Worker, wait_for, worker_env

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def recipients(task, city, always_open_policy):
    """Five unit heads, each with one assignment whose 7-day reminder is recorded in the ledger."""
    heads = []
    for n in range(5):
        unit = Unit.objects.create(code=f"W{n}", name=f"Xã {n}", kind=Unit.Kind.COMMUNE, parent=city)
        heads.append(make_official(f"head-w{n}", unit, head=True))
        make_assignment(task, unit, deadline=dt.date(2026, 6, 30))
    run_sweep(dt.date(2026, 6, 23), force=True)
    # One digest per head and channel (issue 14); the worker's sender expands it into the ledger.
    assert DueDigest.objects.filter(status="pending", channel="email").count() == 5
    assert not Delivery.objects.exists()
    return heads


@pytest.fixture
def broker(redis_url):
    """A redis-server of the test's own: no stale messages from an earlier run, and nothing
    flushed in a database the suite does not own (`redis_url` only says Redis is wanted)."""
    private = PrivateRedis()
    private.start()
    yield private.url
    private.kill()


def producer(url):
    return Celery("test-producer", broker=url, set_as_current=False)


def sent_once_each(smtp, heads):
    return all(len(smtp.to(h.email)) == 1 for h in heads)


def assert_exactly_once(smtp, heads):
    assert [len(smtp.to(h.email)) for h in heads] == [1] * len(heads)
    assert set(Delivery.objects.filter(channel="email").values_list("status", flat=True)) == {"sent"}
    assert Delivery.objects.filter(channel="email").count() == len(heads)
    assert set(DueDigest.objects.filter(channel="email").values_list("status", flat=True)) == {"expanded"}


def test_worker_sends_each_recipient_one_digest(recipients, broker, smtp_server):
    worker = Worker(worker_env(broker, smtp_server))
    worker.start()
    try:
        app = producer(broker)
        for head in recipients:
            app.send_task("reminders.send", args=[head.pk, "email"])
            app.send_task("reminders.send", args=[head.pk, "email"])  # a duplicate message changes nothing
        wait_for(lambda: sent_once_each(smtp_server, recipients), what="five emails")
        wait_for(lambda: not Delivery.objects.filter(channel="email").exclude(status="sent").exists())
    finally:
        worker.stop()
    assert_exactly_once(smtp_server, recipients)


def test_worker_killed_mid_send_then_restarted(recipients, broker, smtp_server):
    first = recipients[0]
    worker = Worker(worker_env(broker, smtp_server))
    worker.start()
    try:
        smtp_server.hold.set()  # the SMTP server keeps the worker waiting at RCPT
        producer(broker).send_task("reminders.send", args=[first.pk, "email"])
        assert smtp_server.rcpt_seen.wait(30), worker.output()
        worker.kill()  # SIGKILL, mid-send
        row = Delivery.objects.get(recipient=first, channel="email")
        assert (row.status, row.attempts) == ("sending", 1)
        smtp_server.hold.clear()
        assert smtp_server.to(first.email) == []
        worker.start()
        # Beat's dispatcher finds the rows whose sender died (claim older than the timeout) and the rest.
        wait_for(lambda: Delivery.objects.get(pk=row.pk).claimed_at is not None, timeout=5)
        time.sleep(3.5)  # REMINDER_CLAIM_TIMEOUT=3 in the worker
        producer(broker).send_task("reminders.dispatch")
        wait_for(lambda: sent_once_each(smtp_server, recipients), what="every email once")
    finally:
        worker.stop()
    assert_exactly_once(smtp_server, recipients)
    assert Delivery.objects.get(pk=row.pk).attempts == 2


def test_redis_restarted_during_a_run(recipients, smtp_server):
    private = PrivateRedis()
    private.start()
    worker = Worker(worker_env(private.url, smtp_server))
    try:
        worker.start()
        smtp_server.delay = 0.7  # slow SMTP: the run is still going when Redis goes down
        app = producer(private.url)
        for head in recipients:
            app.send_task("reminders.send", args=[head.pk, "email"])
        wait_for(lambda: len(smtp_server.messages) >= 1, what="the first email")
        private.kill()  # the queued messages die with it (no persistence)
        private.start()
        smtp_server.delay = 0
        # The next beat tick: the dispatcher re-enqueues whatever the ledger still has due.
        wait_for(lambda: b"Connected to redis" in open(worker.log.name, "rb").read().split(b"ready.", 1)[-1], 60)
        producer(private.url).send_task("reminders.dispatch")
        wait_for(lambda: sent_once_each(smtp_server, recipients), timeout=60, what="every email once")
        wait_for(lambda: not Delivery.objects.filter(channel="email").exclude(status="sent").exists())
    finally:
        worker.stop()
        private.kill()
    assert_exactly_once(smtp_server, recipients)
