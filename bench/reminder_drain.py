"""Benchmark of the reminder senders (not a timed test): drain 100,000 due ledger rows with real
Celery workers into a loopback SMTP server and a loopback Zalo server.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/acc_drain .venv/bin/python bench/reminder_drain.py

Creates (in the database named by DATABASE_URL; use one of your own) 500 commune heads with 100
assignments each due in 7 days, a plan policy sending e-mail and Zalo at any hour, and runs the
sweep: 1,000 digests (one per head and channel) standing for 100,000 reminders, which the senders
expand into 100,000 ledger rows before sending (issue 14). Starts a private redis-server and two `celery worker -P solo`
processes, lets the sweep's enqueue queue the sends, sends `reminders.dispatch` every 5 s as the
beat would, and waits until every row is sent. Prints the time, the workers' peak memory (VmHWM),
the dispatcher's lag (publish → start, from the workers' logs), the messages received and whether
every row's assignment was found in them. Everything it created is deleted at the end.
"""

import argparse
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accountability.settings")


def start_redis() -> tuple[subprocess.Popen, str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    return proc, f"redis://127.0.0.1:{port}/0"


redis_proc, REDIS = start_redis()
os.environ["REDIS_URL"] = REDIS  # the bench process's cache and broker: the private Redis

import django  # noqa: E402

django.setup()

from celery import Celery  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

import tasks_app.reminders.tasks  # noqa: E402, F401 (stamps the dispatcher's publish time)
from tasks_app.models import Assignment, Official, Plan, Task, TaskGroup, Unit  # noqa: E402
from tasks_app.reminders.models import Delivery, DueDigest, ReminderPolicy  # noqa: E402
from tasks_app.reminders.sweep import run_sweep  # noqa: E402
from tasks_app.reminders.tasks import enqueue_send  # noqa: E402
from tasks_app.status import Status  # noqa: E402
from tests.fixtures_reminders import SmtpServer, Worker, ZaloServer, worker_env  # noqa: E402

PREFIX = "DRAIN-"


def build(recipients: int, items: int, deadline: dt.date) -> Plan:
    User = get_user_model()
    with transaction.atomic():
        city = Unit.objects.create(code=PREFIX + "CITY", name="Drain city", kind=Unit.Kind.CITY)
        leader_user = User.objects.create_user(PREFIX.lower() + "leader", "leader@drain.invalid")
        leader = Official.objects.create(user=leader_user, unit=city, full_name="Drain leader", role="leader")
        plan = Plan.objects.create(year=2098, name=PREFIX + "plan")
        ReminderPolicy.objects.create(plan=plan, send_hour=0, send_until_hour=24, channels=["email", "zalo"])
        group = TaskGroup.objects.create(plan=plan, number=1, title="Drain")
        units = Unit.objects.bulk_create(
            Unit(code=f"{PREFIX}{n:04d}", name=f"Xã {n}", kind=Unit.Kind.COMMUNE, parent=city)
            for n in range(recipients)
        )
        users = User.objects.bulk_create(
            User(username=f"{PREFIX.lower()}head-{n}", email=f"head-{n}@drain.invalid") for n in range(recipients)
        )
        heads = Official.objects.bulk_create(
            Official(user=u, unit=unit, full_name=f"Head {n}", zalo_user_id=f"zalo-{n}")
            for n, (u, unit) in enumerate(zip(users, units, strict=True))
        )
        for unit, head in zip(units, heads, strict=True):
            unit.head = head
        Unit.objects.bulk_update(units, ["head"])
        tasks = Task.objects.bulk_create(
            Task(
                group=group,
                code=f"{PREFIX}{n:03d}",
                number=n,
                title=f"Nhiệm vụ {n} về cải cách hành chính",
                authority=leader,
            )
            for n in range(items)
        )
        Assignment.objects.bulk_create(
            (
                Assignment(
                    task=t,
                    unit=unit,
                    role="lead",
                    responsible=head,
                    authority=leader,
                    deadline=deadline,
                    original_deadline=deadline,
                    status=Status.IN_PROGRESS,
                )
                for t in tasks
                for unit, head in zip(units, heads, strict=True)
            ),
            batch_size=10000,
        )
    return plan


def cleanup():
    plan = Plan.objects.filter(name=PREFIX + "plan").first()
    if plan is None:
        return
    with transaction.atomic():
        assignments = Assignment.objects.filter(task__group__plan=plan)
        Delivery.objects.filter(assignment__in=assignments).delete()
        assignments._raw_delete(assignments.db)
        Task.objects.filter(group__plan=plan).delete()
        TaskGroup.objects.filter(plan=plan).delete()
        plan.delete()
        Unit.objects.filter(code__startswith=PREFIX).update(head=None)
        Official.objects.filter(unit__code__startswith=PREFIX).delete()
        get_user_model().objects.filter(username__startswith=PREFIX.lower()).delete()
        Unit.objects.filter(code__startswith=PREFIX, parent__isnull=False).delete()
        Unit.objects.filter(code__startswith=PREFIX).delete()


def peak_rss_mib(pid: int) -> float:
    """VmHWM of the process and its children (a solo worker is one process)."""
    total = 0
    pids = [pid] + [
        int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    ]
    for p in pids:
        status = Path(f"/proc/{p}/status").read_text()
        total += int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))
    return total / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=500)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    cleanup()
    today = timezone.localdate()
    started = time.perf_counter()
    build(args.recipients, args.items, today + dt.timedelta(days=7))
    print(f"built {args.recipients * args.items:,} assignments in {time.perf_counter() - started:.1f} s")

    smtp, zalo = SmtpServer(), ZaloServer()
    smtp.start()
    extra = {
        "ZALO_API_BASE": zalo.url,
        "ZALO_OA_ACCESS_TOKEN": "oa-token",
        "REMINDER_CLAIM_TIMEOUT": "300",
        "REMINDER_RETRY_BASE_SECONDS": "5",
        "LOG_LEVEL": "INFO",
    }
    workers = [Worker(worker_env(REDIS, smtp, extra)) for _ in range(args.workers)]
    for w in workers:
        w.start()
    producer = Celery("drain-producer", broker=REDIS, set_as_current=False)
    done = threading.Event()

    def beat():  # the dispatcher every 5 s, as the beat does every 60 s
        while not done.wait(5):
            producer.send_task("reminders.dispatch", queue="reminders-control")

    try:
        started = time.perf_counter()
        result = run_sweep(today, force=True, enqueue=enqueue_send)
        swept = time.perf_counter() - started
        rows = Delivery.objects.filter(assignment__unit__code__startswith=PREFIX)
        # Since issue 14 the sweep writes one digest per recipient and channel; each sender expands
        # its own into ledger rows before sending: drained when no digest is pending and every row is sent.
        digests = DueDigest.objects.filter(recipient__unit__code__startswith=PREFIX, day=today)
        pending = digests.filter(status=DueDigest.Status.PENDING)
        print(
            f"sweep: {result.created:,} digests of {result.items:,} reminders in {swept:.1f} s; "
            f"{result.enqueued} sends queued"
        )
        threading.Thread(target=beat, daemon=True).start()
        while pending.exists() or rows.exclude(status=Delivery.Status.SENT).exists():
            time.sleep(1)
        drained = time.perf_counter() - started
        total = rows.count()
        done.set()
        memory = [peak_rss_mib(w.proc.pid) for w in workers]
    finally:
        done.set()
        for w in workers:
            w.stop()
        smtp.stop()
        zalo.close()
        redis_proc.kill()
    lags = [float(x) for w in workers for x in re.findall(r"started ([\d.]+) s after it was queued", w.output())]
    emails = len(smtp.messages)
    texts = [r["body"]["message"]["text"] for r in zalo.delivered("/message/cs")]
    codes_by_user: dict[str, set[str]] = {}
    for r in zalo.delivered("/message/cs"):
        found = set(re.findall(rf"{PREFIX}\d{{3}}", r["body"]["message"]["text"]))
        codes_by_user.setdefault(r["body"]["recipient"]["user_id"], set()).update(found)
    every_zalo_item = (
        all(len(c) == args.items for c in codes_by_user.values()) and len(codes_by_user) == args.recipients
    )
    every_email_item = emails == args.recipients and all(
        len(set(re.findall(rf"{PREFIX}\d{{3}}", m.get_body(("plain",)).get_content()))) == args.items
        for _, m in smtp.messages
    )
    print(
        f"drained {total:,} rows in {drained:.1f} s ({total / drained:,.0f} rows/s) with {args.workers} workers; "
        f"peak memory per worker {', '.join(f'{m:.0f} MiB' for m in memory)}"
    )
    print(f"messages: {emails} e-mails, {len(texts)} Zalo texts (max {max(map(len, texts))} chars)")
    print(f"every item found at the servers: e-mail {every_email_item}, Zalo {every_zalo_item}")
    if lags:
        lags.sort()
        print(f"dispatcher lag over {len(lags)} ticks: median {lags[len(lags) // 2]:.2f} s, max {lags[-1]:.2f} s")
    cleanup()


if __name__ == "__main__":
    tempfile.tempdir = None
    main()
