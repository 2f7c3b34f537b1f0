"""Writing the reminder ledger at national scale: where the sweep's time goes, and what each index
costs. Issue 14 asks to measure `INSERT … SELECT` against `COPY` into a staging table, and the
cost of each index on the ledger.

On the normal day of `bench/sweep_scale.py` (2 March 2026 on the generated data, steady state), in
transactions that are rolled back:

- selection: the sweep's SELECT of the planned rows, counted (no write);
- the sweep: its `INSERT … SELECT … ON CONFLICT DO NOTHING` into the ledger (every index);
- COPY: the same rows fetched by the client, `COPY`-ed into an unindexed staging table, then
  `INSERT … SELECT` from it into the ledger (the way a bulk loader would do it);
- each index: the same INSERT … SELECT into a fresh copy of the ledger (a regular, WAL-logged
  table) with no index, then with one index at a time; the difference is that index's cost; then
  every index, and every index with the two foreign keys the ledger had until issue 14 (their
  deferred checks forced as the commit would run them).

    python bench/ledger_write.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402
from bench.sweep_scale import DAY, Rollback, common_now, steady_state, vacuum  # noqa: E402

COPY_TABLE = "bench_ledger_copy"
# The ledger's indexes (reminders/models.py and the foreign key's), as they would be on the copy.
INDEXES = {
    "primary key (id)": f"ALTER TABLE {COPY_TABLE} ADD PRIMARY KEY (id)",
    "unique key (assignment, stage, recipient, channel)": (
        f"CREATE UNIQUE INDEX bench_uniq ON {COPY_TABLE} (assignment_id, stage, recipient_id, channel)"
    ),
    "recipient (foreign key's index)": f"CREATE INDEX bench_recipient ON {COPY_TABLE} (recipient_id)",
    "day, status": f"CREATE INDEX bench_day ON {COPY_TABLE} (day, status)",
    "pending rows (recipient, channel, next attempt; partial)": (
        f"CREATE INDEX bench_pending ON {COPY_TABLE} (recipient_id, channel, next_attempt_at) "
        "WHERE status IN ('pending', 'sending')"
    ),
}


def timed_once(fn):
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def in_rollback(fn):
    from django.db import transaction

    outcome = None
    try:
        with transaction.atomic():
            steady_state(DAY)
            outcome = fn()
            raise Rollback
    except Rollback:
        pass
    return outcome


def main() -> list[tuple[str, float, int]]:
    common.setup_django()
    from django.db import connection

    from tasks_app.reminders.sweep import plan_day

    now = common_now(DAY)

    def group():
        (g,) = plan_day(DAY, now=now, force=True).groups
        return g

    def execute(sql, params=()):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount

    results: list[tuple[str, float, int]] = []

    def selection():
        ctes, params = group().ctes()
        with connection.cursor() as cursor:
            cursor.execute(f"{ctes} SELECT count(*) FROM planned", params)  # noqa: S608
            return cursor.fetchone()[0]

    vacuum()
    seconds, rows = in_rollback(lambda: timed_once(selection))
    results.append(("selection only (SELECT count(*) of the planned rows)", seconds, rows))

    def sweep_then_checks():
        # The steady state's own deferred checks (overdue notices) first, out of the measure.
        execute("SET CONSTRAINTS ALL IMMEDIATE")
        execute("SET CONSTRAINTS ALL DEFERRED")
        seconds, rows = timed_once(lambda: execute(*group().insert_sql(DAY, now)))
        # The deferred foreign-key checks queued by each row run at commit; forced here.
        checks, _ = timed_once(lambda: execute("SET CONSTRAINTS ALL IMMEDIATE"))
        return seconds, rows, checks

    vacuum()
    seconds, rows, checks = in_rollback(sweep_then_checks)
    results.append(("the sweep: INSERT … SELECT … ON CONFLICT into the ledger", seconds, rows))
    results.append(("then its deferred foreign-key checks (run at commit)", checks, rows))

    columns = (
        "assignment_id, stage, offset_days, deadline, recipient_id, recipient_role, channel, day, status, "
        "last_error, created_at, next_attempt_at, attempts, claim_token, provider_id, message_key"
    )

    def via_copy():
        g = group()
        sql, params = g.insert_sql(DAY, now, table="bench_staging")
        select_sql = sql[sql.index("WITH") :].replace("ON CONFLICT DO NOTHING", "")
        execute(
            "CREATE TEMP TABLE bench_staging (LIKE reminders_delivery INCLUDING DEFAULTS INCLUDING IDENTITY) ON COMMIT DROP"
        )
        started = time.perf_counter()
        with connection.cursor() as cursor:
            # One connection cannot fetch and COPY at once: the rows are fetched first.
            cursor.execute(select_sql, params)
            rows = cursor.fetchall()
            with cursor.cursor.copy(f"COPY bench_staging ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        count = len(rows)
        del rows
        copied = time.perf_counter() - started
        started = time.perf_counter()
        inserted = execute(
            f"INSERT INTO reminders_delivery ({columns}) SELECT {columns} FROM bench_staging "  # noqa: S608
            "ORDER BY assignment_id, stage, recipient_id, channel ON CONFLICT DO NOTHING"
        )
        return copied, time.perf_counter() - started, count, inserted

    vacuum()
    copied, inserted_s, count, inserted = in_rollback(via_copy)
    results.append(("COPY: rows fetched by the client and COPY-ed into an unindexed staging table", copied, count))
    results.append(("COPY: then INSERT … SELECT from staging into the ledger", inserted_s, inserted))
    results.append(("COPY: both", copied + inserted_s, inserted))

    def into_copy(index_sql: str | None):
        execute(f"CREATE TABLE {COPY_TABLE} (LIKE reminders_delivery INCLUDING DEFAULTS INCLUDING IDENTITY)")
        if index_sql:
            execute(index_sql)
        execute("SET CONSTRAINTS ALL IMMEDIATE")  # the preparation's own checks, out of the measure
        execute("SET CONSTRAINTS ALL DEFERRED")

        def insert_and_check():
            rows = execute(*group().insert_sql(DAY, now, table=COPY_TABLE))
            execute("SET CONSTRAINTS ALL IMMEDIATE")  # what the commit would check
            return rows

        return timed_once(insert_and_check)

    vacuum()
    bare, rows = in_rollback(lambda: into_copy(None))
    results.append(("a copy of the ledger, no index: the heap (WAL-logged)", bare, rows))
    everything = bare
    for name, index_sql in INDEXES.items():
        vacuum()
        seconds, rows = in_rollback(lambda index_sql=index_sql: into_copy(index_sql))
        results.append((f"the copy with one index: {name} (+{seconds - bare:.2f} s)", seconds, rows))
        everything += seconds - bare

    everything_sql = list(INDEXES.values())
    vacuum()
    seconds, rows = in_rollback(lambda: into_copy(";".join(everything_sql)))
    results.append(("the copy with every index (the unique one makes ON CONFLICT check each row)", seconds, rows))
    fks = (
        f"ALTER TABLE {COPY_TABLE} ADD FOREIGN KEY (assignment_id) REFERENCES tasks_app_assignment (id) "
        "DEFERRABLE INITIALLY DEFERRED;"
        f"ALTER TABLE {COPY_TABLE} ADD FOREIGN KEY (recipient_id) REFERENCES tasks_app_official (id) "
        "DEFERRABLE INITIALLY DEFERRED"
    )
    vacuum()
    seconds, rows = in_rollback(lambda: into_copy(";".join([*everything_sql, fks])))
    results.append(
        (
            "the copy with every index and both foreign keys (deferred, as the ledger's were; checked as at commit)",
            seconds,
            rows,
        )
    )

    common.header("Writing the reminder ledger: INSERT … SELECT vs COPY, and each index's cost (normal day)")
    print("| step | time | rows | µs per row |")
    print("|---|---:|---:|---:|")
    for label, seconds, rows in results:
        print(f"| {label} | {seconds:.2f} s | {rows:,} | {seconds / max(rows, 1) * 1e6:.1f} |")
    print(f"\n(heap plus each index's own cost, summed: {everything:.2f} s)")
    return results


if __name__ == "__main__":
    main()
