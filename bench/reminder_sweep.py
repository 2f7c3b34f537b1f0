"""Benchmark of the reminder sweep (not a timed test): 100,000 open assignments, one sweep.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/acc_reminders .venv/bin/python bench/reminder_sweep.py

Migrates the database, creates a plan of 1,000 tasks × 100 communes (deadlines spread over
200 days around the sweep day), marks what was already overdue before yesterday as announced (the
steady state of a system that ran every day), then times the sweep and counts its queries, twice:
the first run records the day's reminders, the second finds them recorded and creates nothing.
Everything it created is deleted at the end unless --keep is given.
"""

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accountability.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from tasks_app.models import Assignment, Official, Plan, Task, TaskGroup, Unit  # noqa: E402
from tasks_app.reminders.models import Delivery, OverdueNotice  # noqa: E402
from tasks_app.reminders.sweep import plan_day, run_sweep  # noqa: E402
from tasks_app.status import Status  # noqa: E402

PREFIX = "BENCH-"


def build(tasks: int, units: int, day: dt.date):
    User = get_user_model()
    with transaction.atomic():
        city = Unit.objects.create(code=PREFIX + "CITY", name="Bench city", kind=Unit.Kind.CITY)
        leader_user = User.objects.create_user(PREFIX.lower() + "leader", "leader@bench.invalid")
        leader = Official.objects.create(user=leader_user, unit=city, full_name="Bench leader", role="leader")
        plan = Plan.objects.create(year=2099, name=PREFIX + "plan")
        group = TaskGroup.objects.create(plan=plan, number=1, title="Bench")
        unit_rows = Unit.objects.bulk_create(
            [
                Unit(code=f"{PREFIX}{n:04d}", name=f"Bench xã {n}", kind=Unit.Kind.COMMUNE, parent=city)
                for n in range(units)
            ]
        )
        users = User.objects.bulk_create(
            [User(username=f"{PREFIX.lower()}head-{n}", email=f"head-{n}@bench.invalid") for n in range(units)]
        )
        heads = Official.objects.bulk_create(
            [
                Official(user=u, unit=unit, full_name=f"Head {n}")
                for n, (u, unit) in enumerate(zip(users, unit_rows, strict=True))
            ]
        )
        for unit, head in zip(unit_rows, heads, strict=True):
            unit.head = head
        Unit.objects.bulk_update(unit_rows, ["head"])
        task_rows = Task.objects.bulk_create(
            [
                Task(
                    group=group,
                    code=f"{PREFIX}{n:05d}",
                    number=n % 30000,
                    title=f"Bench task {n}",
                    description="…",
                    deliverable="Báo cáo",
                    acceptance_criteria="Đạt",
                    authority=leader,
                )
                for n in range(tasks)
            ]
        )
        batch = []
        for t_index, task in enumerate(task_rows):
            for u_index, (unit, head) in enumerate(zip(unit_rows, heads, strict=True)):
                deadline = day + dt.timedelta(days=(t_index * 7 + u_index) % 200 - 30)
                batch.append(
                    Assignment(
                        task=task,
                        unit=unit,
                        role="lead",
                        responsible=head,
                        authority=leader,
                        deadline=deadline,
                        original_deadline=deadline,
                        status=Status.IN_PROGRESS,
                    )
                )
            if len(batch) >= 20000:
                Assignment.objects.bulk_create(batch)
                batch = []
        Assignment.objects.bulk_create(batch)
        overdue = Assignment.objects.filter(task__group__plan=plan, deadline__lt=day - dt.timedelta(days=1))
        OverdueNotice.objects.bulk_create(
            [OverdueNotice(assignment_id=pk, deadline=d) for pk, d in overdue.values_list("pk", "deadline")],
            batch_size=20000,
        )
    return plan


def cleanup(plan):
    with transaction.atomic():
        assignments = Assignment.objects.filter(task__group__plan=plan)
        Delivery.objects.filter(assignment__in=assignments).delete()
        OverdueNotice.objects.filter(assignment__in=assignments).delete()
        assignments._raw_delete(assignments.db)
        Task.objects.filter(group__plan=plan).delete()
        TaskGroup.objects.filter(plan=plan).delete()
        plan.delete()
        Unit.objects.filter(code__startswith=PREFIX).update(head=None)
        Official.objects.filter(unit__code__startswith=PREFIX).delete()
        get_user_model().objects.filter(username__startswith=PREFIX.lower()).delete()
        Unit.objects.filter(code__startswith=PREFIX, parent__isnull=False).delete()
        Unit.objects.filter(code__startswith=PREFIX).delete()


def timed_sweep(day, now):
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = run_sweep(day, now=now, force=True)
        elapsed = time.perf_counter() - started
    return result, elapsed, len(queries.captured_queries)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument("--date", default="2026-06-23", help="the sweep day (a working day)")
    parser.add_argument("--keep", action="store_true", help="leave the benchmark data in the database")
    args = parser.parse_args()
    day = dt.date.fromisoformat(args.date)
    now = dt.datetime.combine(day, dt.time(8, 0), tzinfo=dt.UTC)
    call_command("migrate", verbosity=0)
    if Plan.objects.filter(name=PREFIX + "plan").exists():
        cleanup(Plan.objects.get(name=PREFIX + "plan"))
    started = time.perf_counter()
    plan = build(args.tasks, args.units, day)
    count = Assignment.objects.open().filter(task__group__plan=plan).count()
    print(f"{connection.vendor}: created {count:,} open assignments in {time.perf_counter() - started:.1f} s")
    try:
        for label in ("first sweep ", "second sweep"):
            due, _ = plan_day(day, force=True).counts()  # (not timed: the sweep does not count)
            result, elapsed, queries = timed_sweep(day, now)
            print(
                f"{label}: {elapsed * 1000:8.1f} ms, {queries:3d} queries, {due:,} reminders due, "
                f"{result.created:,} new digests (one per recipient and channel) of {result.items:,} reminders, "
                f"{result.newly_overdue:,} newly overdue"
            )
    finally:
        if not args.keep:
            cleanup(plan)


if __name__ == "__main__":
    main()
