"""Fault drills of issue 13 with real Celery workers on a private Redis, PostgreSQL and the loopback
SMTP and Zalo servers. Each asserts that no item is lost and that a duplicate, if any, carries the
same Message-ID or tracking id:
- a worker SIGKILLed between SMTP's acceptance and the UPDATE to `sent` (the journal is replayed);
- PostgreSQL unreachable right after SMTP's acceptance (the UPDATE is retried until it answers);
- two workers refreshing the expired Zalo token together (one refresh, one token row);
- Zalo accepting and answering after the answer timeout (a copy only after the bound, same key);
- the dispatcher behind a backlog of sends (its own queue; lag measured, nothing queued twice)."""

import datetime as dt
import json
import re
import time
from pathlib import Path

import psycopg
import pytest
import redis
from celery import Celery
from django.db import connection

import tasks_app.reminders.tasks  # noqa: F401 (the producer stamps the dispatcher's publish time)
from tasks_app.models import Unit
from tasks_app.reminders.models import Delivery, ReminderPolicy, ZaloToken
from tasks_app.reminders.sweep import run_sweep
from tests.conftest import make_assignment, make_official
from tests.fixtures_reminders import PostgresProxy, PrivateRedis, Worker, expand_all, wait_for, worker_env

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def heads(task, city):
    """Five unit heads, each with one assignment whose 7-day reminder is recorded in the ledger."""
    ReminderPolicy.objects.create(send_hour=0, send_until_hour=24, channels=["email", "zalo", "zns"])
    found = []
    for n in range(5):
        unit = Unit.objects.create(code=f"F{n}", name=f"Xã {n}", kind=Unit.Kind.COMMUNE, parent=city)
        head = make_official(f"head-f{n}", unit, head=True)
        head.zalo_user_id = f"zalo-f{n}"
        head.phone = f"091234500{n}"
        head.save()
        found.append(head)
        make_assignment(task, unit, deadline=dt.date(2026, 6, 30))
    run_sweep(dt.date(2026, 6, 23), force=True)
    expand_all()  # what each sender does first (issue 14)
    assert Delivery.objects.filter(status="pending").count() == 15
    return found


@pytest.fixture
def private_redis():
    """A Redis of the test's own: no FLUSHDB of a database anyone else uses."""
    server = PrivateRedis()
    server.start()
    yield server
    server.kill()


@pytest.fixture
def journal_dir(tmp_path):
    return tmp_path / "journal"


def env_for(private_redis, smtp, journal_dir, extra=None):
    return worker_env(private_redis.url, smtp, {"REMINDER_JOURNAL_DIR": str(journal_dir), **(extra or {})})


def send(url, *pairs):
    app = Celery("test-producer", broker=url, set_as_current=False)
    for pair in pairs:
        app.send_task("reminders.send", args=list(pair))


def dispatch(url):
    Celery("test-producer", broker=url, set_as_current=False).send_task("reminders.dispatch", queue="reminders-control")


def all_sent(channel):
    return not Delivery.objects.filter(channel=channel).exclude(status="sent").exists()


def assert_each_once(smtp, heads):
    ids = {h.email: [m["Message-ID"] for m in smtp.to(h.email)] for h in heads}
    assert {email: len(found) for email, found in ids.items()} == {h.email: 1 for h in heads}
    assert all_sent("email")


def test_worker_killed_between_smtp_acceptance_and_the_update(heads, private_redis, smtp_server, journal_dir):
    Delivery.objects.exclude(channel="email").delete()
    first = heads[0]
    worker = Worker(env_for(private_redis, smtp_server, journal_dir))
    worker.start()
    db = connection.settings_dict
    locker = psycopg.connect(
        host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"]
    )
    try:
        smtp_server.hold.set()  # the sender waits at RCPT: its rows are claimed
        send(private_redis.url, (first.pk, "email"))
        assert smtp_server.rcpt_seen.wait(30), worker.output()
        # Lock the claimed rows: the UPDATE to `sent` after SMTP's acceptance waits on this lock.
        locker.execute("SELECT id FROM reminders_delivery WHERE recipient_id = %s FOR UPDATE", [first.pk])
        smtp_server.hold.clear()
        wait_for(lambda: len(smtp_server.to(first.email)) == 1, what="SMTP's acceptance")
        wait_for(lambda: any(p.read_text() for p in journal_dir.glob("sender-*.jsonl")), what="the journal entry")
        worker.kill()  # SIGKILL after the acceptance, before the ledger says `sent`
        # Its UPDATE is still queued in its server backend: end it as a dead host's connection ends.
        waiting = locker.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        ).fetchall()
        assert waiting == [(True,)]
        locker.rollback()
        row = Delivery.objects.get(recipient=first, channel="email")
        assert row.status == "sending"
        [entry] = [json.loads(p.read_text()) for p in journal_dir.glob("sender-*.jsonl") if p.read_text()]
        assert entry["key"] == row.message_key and entry["row_ids"] == [row.pk]

        worker.start()
        time.sleep(3.5)  # REMINDER_CLAIM_TIMEOUT=3 in the worker: the dead sender's claim is stale
        send(private_redis.url, *[(h.pk, "email") for h in heads[1:]])
        dispatch(private_redis.url)
        wait_for(lambda: all_sent("email"), what="every email row sent")
    finally:
        locker.close()
        worker.stop()
    assert_each_once(smtp_server, heads)  # the journal was replayed: nothing sent twice
    assert "accepted by a provider before their sender died" in worker.output()
    assert journal_is_empty(journal_dir)


def test_postgresql_unreachable_right_after_smtp_acceptance(heads, private_redis, smtp_server, journal_dir):
    Delivery.objects.exclude(channel="email").delete()
    db = connection.settings_dict
    proxy = PostgresProxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))
    url = f"postgres://{db['USER']}@127.0.0.1:{proxy.port}/{db['NAME']}"
    worker = Worker(env_for(private_redis, smtp_server, journal_dir, {"DATABASE_URL": url, "DB_CONN_MAX_AGE": "600"}))
    worker.start()
    # Each accepted message is followed by a 1.5 s outage: connections reset, new ones refused.
    smtp_server.on_accept = lambda message: proxy.outage(1.5)
    started = time.monotonic()
    try:
        send(private_redis.url, *[(h.pk, "email") for h in heads])
        wait_for(lambda: all_sent("email"), timeout=60, what="every email row sent")
        elapsed = time.monotonic() - started
        time.sleep(4)  # past the claim timeout: a dispatcher would now resend anything left claimed
        dispatch(private_redis.url)
        time.sleep(2)
    finally:
        smtp_server.on_accept = None
        worker.stop()
        proxy.close()
    assert proxy.outages == 5 + 1  # one after each accepted message, and close()
    assert_each_once(smtp_server, heads)
    assert "the database did not answer" in worker.output()
    print(f"5 outages of 1.5 s after SMTP's acceptance: all recorded once in {elapsed:.1f} s")


def test_two_workers_refresh_the_expired_zalo_token_together(heads, private_redis, smtp_server, zalo_server):
    zalo_server.valid_tokens = {"a-token-zalo-expired-for-us"}  # every send first hears "token invalid"
    zalo_server.refresh_delay = 1.0  # the two refreshes overlap
    extra = {
        "ZALO_API_BASE": zalo_server.url,
        "ZALO_ZNS_BASE": zalo_server.url,
        "ZALO_OAUTH_BASE": zalo_server.url,
        "ZALO_OA_ACCESS_TOKEN": "oa-token",
        "ZALO_OA_REFRESH_TOKEN": "refresh-0",
        "ZALO_APP_ID": "app-1",
        "ZALO_APP_SECRET": "app-secret",
        "ZALO_ZNS_TEMPLATE_ID": "tpl-1",
    }
    workers = [Worker(worker_env(private_redis.url, smtp_server, extra)) for _ in range(2)]
    for w in workers:
        w.start()
    try:
        send(private_redis.url, (heads[0].pk, "zalo"), (heads[1].pk, "zalo"))
        wait_for(lambda: Delivery.objects.filter(channel="zalo", status="sent").count() == 2, timeout=60)
    finally:
        for w in workers:
            w.stop()
    assert all("reminders.send" in w.output() for w in workers)  # each worker took one send
    assert zalo_server.refresh_tokens_seen == ["refresh-0"]  # the single-use token spent once
    assert ZaloToken.objects.count() == 1
    users = [
        r["body"]["recipient"]["user_id"] for r in zalo_server.delivered("/message/cs") if r["token"] == "oa-token-1"
    ]
    assert sorted(users) == ["zalo-f0", "zalo-f1"]


def test_zalo_answering_after_the_timeout(heads, private_redis, smtp_server, zalo_server):
    """ZNS accepts and answers 2 s later, past ZALO_ANSWER_TIMEOUT=1: the copy waits for
    REMINDER_UNCERTAIN_RETRY_SECONDS=5 and carries the same tracking id. Measured below."""
    extra = {
        "ZALO_ZNS_BASE": zalo_server.url,
        "ZALO_OA_ACCESS_TOKEN": "oa-token",
        "ZALO_ZNS_TEMPLATE_ID": "tpl-1",
        "ZALO_ANSWER_TIMEOUT": "1",
        "REMINDER_UNCERTAIN_RETRY_SECONDS": "5",
    }
    zalo_server.modes = ["late:2", "late:0.5"]  # the first: answered too late; the second: in time
    worker = Worker(worker_env(private_redis.url, smtp_server, extra))
    worker.start()
    try:
        send(private_redis.url, (heads[0].pk, "zns"), (heads[1].pk, "zns"))
        wait_for(
            lambda: Delivery.objects.filter(recipient__in=heads[:2], channel="zns", status="sent").count() == 2, 60
        )
    finally:
        worker.stop()
    accepted = zalo_server.accepted("/message/template")
    by_phone = {}
    for r in accepted:
        by_phone.setdefault(r["body"]["phone"], []).append(r)
    late, in_time = by_phone["84912345000"], by_phone["84912345001"]
    assert len(in_time) == 1  # a late answer within the answer timeout is no duplicate
    assert len(late) == 2 and late[0]["body"]["tracking_id"] == late[1]["body"]["tracking_id"]
    row = Delivery.objects.get(recipient=heads[0], channel="zns")
    assert row.attempts == 2 and row.message_key == late[0]["body"]["tracking_id"]


def test_dispatcher_runs_ahead_of_a_backlog_and_queues_nothing_twice(heads, private_redis, smtp_server):
    Delivery.objects.exclude(channel="email").delete()  # five e-mail sends due, nothing that fails
    worker = Worker(worker_env(private_redis.url, smtp_server))
    worker.start()
    client = redis.Redis.from_url(private_redis.url)
    try:
        # A backlog of 400 sends of recipients with nothing due, queued before the dispatcher.
        send(private_redis.url, *[(heads[0].pk, "feed")] * 400)
        dispatch(private_redis.url)
        dispatch(private_redis.url)  # a second tick while the first one's sends are still queued
        wait_for(lambda: "reminder dispatch: started" in worker.output(), timeout=60, what="the dispatcher")
        backlog_left = client.llen("celery")
        wait_for(lambda: all_sent("email"), timeout=120, what="every row sent")
    finally:
        worker.stop()
    lags = [float(x) for x in re.findall(r"reminder dispatch: started ([\d.]+) s after", worker.output())]
    assert backlog_left > 100  # the dispatcher did not wait behind the backlog
    assert len(lags) == 2 and max(lags) < 5
    # 5 recipients due: 5 sends queued by the two ticks together, not 10.
    queued = re.findall(r"Task reminders.send\[.*?\] received", worker.output())
    assert len(queued) == 400 + 5
    assert_each_once(smtp_server, heads)
    print(f"dispatcher lag behind a backlog of 400 sends: {', '.join(f'{x:.2f} s' for x in lags)}")


def journal_is_empty(directory: Path) -> bool:
    return all(not p.read_text() for p in directory.glob("sender-*.jsonl"))
