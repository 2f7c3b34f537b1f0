"""The reminder sweep over the national-scale data (1,000,000 assignments, ~814,000 open), against
the single raw SQL statement selecting the same rows. Nothing is kept: each case runs inside a
transaction that is rolled back.

- normal day: 2 March 2026 on the generated data (deadlines spread over the year; about 1% of the
  open assignments cross a stage), in the steady state where earlier overdue work was announced;
- worst case: every open assignment due tomorrow, so all of them cross the 1-day stage at once.

For each: the sweep's selection (`plan_day(…).counts()`: the per-assignment reminders due,
counted in SQL), the whole sweep (`run_sweep`: since issue 14 one digest per recipient, channel and
day), the raw statement selecting the same assignments, PostgreSQL's bulk insert of the
per-assignment rows the sweep wrote before issue 14 (the INSERT … SELECT into a copy of the ledger
with no index: the heap alone), the queries and the process's peak resident memory; each as a
ratio to its baseline measured in the same run, and against the issue's targets.

Then the cost moved to the senders: each sender expands its recipient's pending digests into
ledger rows before claiming (`sweep.expand`). The normal day expands every pending digest, one
after the other in this process (what the senders do in parallel, a pair each), and checks that
the rows written are the digests' items; the worst case expands a sample (`--worst-sample`
digests, spread over the recipients) and extrapolates, said so in the output. Not the reminders
area's own benchmark (bench/reminder_sweep.py, 100,000 assignments); this one is at 1M.

    python bench/sweep_scale.py [--worst-sample 2000] [--normal-sample 0 (all)]
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

DAY = dt.date(2026, 3, 2)
BASELINE_RSS = 0
SAMPLES = {"normal day": 0, "worst case: all due at once": 2000}  # digests to expand (0: all)


class Rollback(Exception):
    pass


def raw_rows(day: dt.date) -> tuple[float, int]:
    """The same assignments as the sweep's selection, by the SQL its query compiles to, fetched raw."""
    from django.db import connection

    from tasks_app.reminders.sweep import plan_day

    groups = plan_day(day, force=True).groups  # one per calendar and policy in force
    started, count = time.perf_counter(), 0
    for group in groups:
        sql, params = group.assignments().query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            count += len(cursor.fetchall())
    return time.perf_counter() - started, count


def measure(label: str, day: dt.date) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tasks_app.models import Assignment
    from tasks_app.reminders.sweep import plan_day, run_sweep

    open_count = Assignment.objects.open().count()
    started = time.perf_counter()
    due_rows, assignments = plan_day(day, force=True).counts()
    plan_s = time.perf_counter() - started
    with connection.cursor() as cursor:
        # The preparation's deferred checks (the steady state's overdue notices), out of the measure.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = run_sweep(day, now=common_now(day), force=True)
        sweep_s = time.perf_counter() - started
    with connection.cursor() as cursor:
        # What the commit would do next (these runs roll back): the deferred foreign-key checks.
        started = time.perf_counter()
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        checks_s = time.perf_counter() - started
    # The process's peak resident memory so far (Linux: KiB); the normal day runs first. Taken
    # before the raw baseline, which fetches every selected row into this process.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    raw_s, raw_count = raw_rows(day)
    raw_s = min(raw_s, raw_rows(day)[0])
    bulk_s = bulk_insert(day)
    assert assignments == raw_count, (assignments, raw_count)
    assert result.items == due_rows, (result.items, due_rows)
    expansion = expand(SAMPLES[label])
    rerun_s = None
    if expansion["expanded_digests"] == expansion["pending_digests"]:
        # The beat runs the sweep every 15 minutes: again after everything was expanded, it probes the
        # ledger for the day's items (new work reopens a digest) and writes nothing here.
        started = time.perf_counter()
        again = run_sweep(day, now=common_now(day), force=True)
        rerun_s = time.perf_counter() - started
        assert (again.created, again.newly_overdue) == (0, 0), again
    return {
        "case": label,
        "open": open_count,
        "crossing": raw_count,
        "share": raw_count / open_count,
        "rows": due_rows,
        "digests": result.created,
        "rerun_s": rerun_s,
        **expansion,
        "raw_s": raw_s,
        "plan_s": plan_s,
        "bulk_s": bulk_s,
        "sweep_s": sweep_s,
        "checks_s": checks_s,
        "queries": len(queries),
        "peak_mib": peak / 2**20,
        "baseline_mib": BASELINE_RSS / 2**20,
    }


def expand(sample: int) -> dict:
    """The senders' share: expand the pending digests (all, or `sample` of them spread over the
    recipients) one after the other, as each sender does before claiming; rows written, time."""
    from django.db.models import Sum

    from tasks_app.reminders.models import DueDigest
    from tasks_app.reminders.sweep import expand as expand_pair

    pending = DueDigest.objects.filter(status=DueDigest.Status.PENDING)
    pairs = sorted(pending.values_list("recipient_id", "channel"))
    total_items = pending.aggregate(n=Sum("items"))["n"] or 0
    skipped = DueDigest.objects.filter(status=DueDigest.Status.SKIPPED).aggregate(n=Sum("items"))["n"] or 0
    chosen = pairs if not sample or sample >= len(pairs) else pairs[:: max(len(pairs) // sample, 1)][:sample]
    items = sum(pending.filter(recipient_id=r, channel=c).values_list("items", flat=True)[0] for r, c in chosen)
    started = time.perf_counter()
    written = sum(expand_pair(r, c) for r, c in chosen)
    expand_s = time.perf_counter() - started
    if len(chosen) == len(pairs):
        assert written == total_items, (written, total_items)  # every item of every pending digest, once
    else:
        assert written == items, (written, items)
    return {
        "pending_digests": len(pairs),
        "skipped_items": skipped,
        "expanded_digests": len(chosen),
        "expanded_rows": written,
        "expand_s": expand_s,
        "expand_all_s": expand_s * len(pairs) / max(len(chosen), 1),
        "pending_items": total_items,
    }


def bulk_insert(day: dt.date) -> float:
    """The same rows by the sweep's own INSERT … SELECT into an unindexed copy of the ledger (a
    regular, WAL-logged table, dropped with the rollback): PostgreSQL's bulk insert speed here."""
    from django.db import connection

    from tasks_app.reminders.sweep import plan_day

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_ledger_bulk (LIKE reminders_delivery INCLUDING DEFAULTS INCLUDING IDENTITY)")
        started = time.perf_counter()
        for group in plan_day(day, force=True).groups:
            cursor.execute(*group.insert_sql(day, common_now(day), table="bench_ledger_bulk"))
        return time.perf_counter() - started


def common_now(day: dt.date) -> dt.datetime:
    from tasks_app.lifecycle import local_tz

    return dt.datetime.combine(day, dt.time(8, 0), tzinfo=local_tz())


def steady_state(day: dt.date) -> None:
    """What a system running every day already has: earlier overdue work announced."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO reminders_overduenotice (assignment_id, deadline, created_at) "
            "SELECT id, deadline, now() FROM tasks_app_assignment "
            "WHERE status IN ('issued', 'in_progress', 'submitted', 'returned') AND deadline < %s "
            "ON CONFLICT DO NOTHING",
            [day - dt.timedelta(days=1)],
        )


def vacuum() -> None:
    """Clear what earlier rolled-back cases left (dead rows and index entries by the million), so a
    case measures the sweep rather than the garbage of the one before."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("tasks_app_assignment", "reminders_delivery", "reminders_overduenotice", "reminders_duedigest"):
            cursor.execute(f"VACUUM ANALYZE {table}")
        # The ledger is empty between cases, but every rolled-back case leaves its indexes hundreds of
        # MB of empty pages (330 MB after a few runs), which made inserting twice as slow: rebuilt.
        cursor.execute("REINDEX TABLE reminders_delivery")
        cursor.execute("REINDEX TABLE reminders_duedigest")


def run_case(label: str, prepare) -> dict:
    from django.db import transaction

    vacuum()
    outcome = {}
    try:
        with transaction.atomic():
            prepare()
            outcome = measure(label, DAY)
            raise Rollback
    except Rollback:
        pass
    return outcome


def main() -> list[dict]:
    global BASELINE_RSS
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--worst-sample", type=int, default=2000, help="worst case: digests expanded (0: all)")
    parser.add_argument("--normal-sample", type=int, default=0, help="normal day: digests expanded (0: all)")
    args = parser.parse_args()
    SAMPLES.update({"normal day": args.normal_sample, "worst case: all due at once": args.worst_sample})
    common.setup_django()
    from django.db import connection

    BASELINE_RSS = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def worst():
        steady_state(DAY)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE tasks_app_assignment SET deadline = %s "
                "WHERE status IN ('issued', 'in_progress', 'submitted', 'returned')",
                [DAY + dt.timedelta(days=1)],
            )

    common.header("Reminder sweep at 1,000,000 assignments vs the raw SQL selecting the same rows")
    results = [run_case("normal day", lambda: steady_state(DAY)), run_case("worst case: all due at once", worst)]
    print(
        "| case | open | crossing a stage | reminders (per-assignment rows) | digests written "
        "| raw SQL selecting them | selection (plan_day) "
        "| bulk insert of the per-assignment rows, no index | sweep | its deferred FK checks (at commit) | sweep + checks "
        "| ÷ raw SQL | ÷ bulk insert | target | met | queries | peak RSS |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|---:|---:|")
    targets = {"normal day": 1.0, "worst case: all due at once": 15.0}
    for r in results:
        target, total = targets[r["case"]], r["sweep_s"] + r["checks_s"]
        print(
            f"| {r['case']} | {r['open']:,} | {r['crossing']:,} ({r['share']:.1%}) | {r['rows']:,} | {r['digests']:,} "
            f"| {r['raw_s']:.2f} s "
            f"| {r['plan_s']:.2f} s | {r['bulk_s']:.2f} s | {r['sweep_s']:.2f} s | {r['checks_s']:.2f} s | {total:.2f} s "
            f"| {total / r['raw_s']:.1f}× | {total / r['bulk_s']:.2f}× | < {target:.0f} s | {'yes' if total < target else 'no'} "
            f"| {r['queries']} | {r['peak_mib']:.0f} MiB |"
        )
    normal, worst = results
    print(
        "\nThe senders' share (expansion of the pending digests into ledger rows, one after the other "
        "in one process; the senders do it in parallel, a recipient and channel each):\n"
    )
    print(
        "| case | pending digests | their items | skipped digests' items (never written) | digests expanded "
        "| rows written | time | per digest | all pending digests, one process |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        whole = r["expanded_digests"] == r["pending_digests"]
        print(
            f"| {r['case']} | {r['pending_digests']:,} | {r['pending_items']:,} | {r['skipped_items']:,} "
            f"| {r['expanded_digests']:,} | {r['expanded_rows']:,} | {r['expand_s']:.2f} s "
            f"| {1000 * r['expand_s'] / max(r['expanded_digests'], 1):.1f} ms "
            f"| {r['expand_all_s']:.1f} s{'' if whole else ' (extrapolated from the sample)'} |"
        )
    print(
        f"\nQueries: {normal['queries']} on the normal day, {worst['queries']} in the worst case "
        f"({normal['digests']:,} and {worst['digests']:,} digests for {normal['rows']:,} and {worst['rows']:,} "
        "reminders). Peak RSS: worst ÷ normal = "
        f"{worst['peak_mib'] / normal['peak_mib']:.2f}× for {worst['rows'] / max(normal['rows'], 1):.0f}× the rows."
    )
    for r in results:
        if r["rerun_s"] is not None:
            print(
                f"\n{r['case']}: the sweep run again after every digest was expanded (the beat's next run, "
                f"15 minutes later): {r['rerun_s']:.2f} s, nothing written."
            )
    print(f"\n(peak RSS of the process before the sweeps: {BASELINE_RSS / 2**20:.0f} MiB)")
    return results


if __name__ == "__main__":
    main()
