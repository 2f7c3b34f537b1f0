# ruff: noqa: S608  (SQL built from this module's constant table names and status values; every value a parameter)
"""Maintained counts of tracked work: the leader dashboard reads thousands of rows, not a million.

Two tables of counts (`UnitCount`, `MonthCount`), kept by PostgreSQL triggers in the writer's own
transaction, so that every write path is caught whatever it goes through: the lifecycle, the API,
the admin, fan-out and the importer (`bulk_create`), `QuerySet.update()`, raw SQL and `COPY`.

- `UnitCount`: (unit, task group, timeliness by the current deadline, timeliness by the original
  deadline) → n. The dashboard's table of units (assigned, on time, late, overdue, open).
- `MonthCount`: (province, task group, both timeliness classes, month of the current deadline, month
  of the original deadline) → n. The dashboard's by-group and by-month figures.

Both deadline bases (the current deadline, the dashboard's default, and the original one,
`AssignmentQuerySet.tracked()`'s default for KPI) are answered from the same rows: an assignment
whose deadline was never extended has the same class and month in both.

**Today.** Whether open work is overdue depends on today. The classes are stored as of one day, the
anchor (`CountsAnchor.as_of`); a reader on another day corrects, in the same SQL statement, the work
whose deadline lies between the anchor and today (the open-deadline indexes find it: about a day's
deadlines when the anchor is rolled nightly, `roll()` from the beat). A writer reads the anchor
with a share lock, so `roll()` (which locks it for update) never moves it under a transaction that
classed rows by the old day.

**Deltas.** The triggers only INSERT signed deltas (−1 for a row's old key, +1 for its new one),
grouped per statement; no row is ever updated, so concurrent writers never wait on or deadlock
over a hot counter. `compact()` folds the deltas into one row per key in one statement (the
nightly roll does it); readers sum whatever is there.

**One rule.** The classes are `lifecycle.timeliness_expression`'s rule. A trigger cannot run the
ORM, so the triggers call a SQL function whose body is that expression as Django compiles it for
PostgreSQL (`timeliness_case()`, its columns and parameters renamed to the function's arguments):
changing the rule in lifecycle.py changes the triggers at the next `counts.install()` (a migration).
`reconcile()` (`manage.py reconcile_counts`) compares the counts with the ORM's own `GROUP BY` of
`tracked()`; the tests run it after every write path and across a local midnight.

PostgreSQL only. On SQLite (the demo) nothing is maintained and the dashboard runs its `GROUP BY`
(`maintained()` says which).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.conf import settings
from django.db import connection, connections, router, transaction
from django.db.models import Count, Q
from django.db.models.functions import TruncMonth

from tasks_app.status import OPEN, TRACKED, WORKING, Timeliness

A = "tasks_app_assignment"
T = "tasks_app_task"
U = "tasks_app_unit"
G = "tasks_app_taskgroup"
ANCHOR = "tasks_app_countsanchor"
UNITS = "tasks_app_unitcount"
TOTALS = "tasks_app_unittotal"
MONTHS = "tasks_app_monthcount"


def _in(values) -> str:
    return "(" + ", ".join(f"'{v.value}'" for v in values) + ")"


# The triggers' SQL function of the rule, its arguments named as they appear in the compiled
# expression below.
_ARGUMENTS = {"status": "status", "deadline": "d", "submitted_at": "submitted_at", "completed_at": "completed_at"}
# A day no deadline is judged against: marks, in the compiled expression, where "today" goes.
_AS_OF_MARK = dt.date(1901, 2, 3)


def timeliness_case() -> str:
    """`lifecycle.timeliness_expression` as Django compiles it for PostgreSQL, over the trigger
    function's arguments instead of the assignment's columns: the one rule, compiled, not a copy.
    Its "today" becomes `as_of` and its local time zone `tz` (both arguments: the anchor's)."""
    from tasks_app.lifecycle import timeliness_expression
    from tasks_app.models import Assignment

    query = Assignment.objects.annotate(_t=timeliness_expression(_AS_OF_MARK)).values("_t").query
    compiler = query.get_compiler(connection=connection)
    sql, params = compiler.compile(query.annotations["_t"])
    qn = connection.ops.quote_name
    for column, argument in _ARGUMENTS.items():
        sql = sql.replace(f"{qn(Assignment._meta.db_table)}.{qn(column)}", argument)
    pieces = sql.split("%s")
    if len(pieces) != len(params) + 1 or A in sql:
        raise RuntimeError(f"timeliness_expression compiled to SQL this module cannot use: {sql}")
    out = [pieces[0]]
    for value, piece in zip(params, pieces[1:], strict=True):
        if value == _AS_OF_MARK:
            out.append("as_of")
        elif value == settings.TIME_ZONE:
            out.append("tz")
        elif isinstance(value, str) and value.replace("_", "").isalnum():  # a status or class name
            out.append(f"'{getattr(value, 'value', value)}'")
        else:
            raise RuntimeError(f"timeliness_expression has a parameter this module cannot inline: {value!r}")
        out.append(piece)
    return "".join(out)


def timeliness_sql() -> str:
    """The triggers' `tasks_app_timeliness(...)`: `timeliness_case()`, with '' where the expression
    gives NULL (work not tracked, or without a deadline; the triggers count tracked work only)."""
    return f"""
CREATE OR REPLACE FUNCTION tasks_app_timeliness(
    status text, d date, submitted_at timestamptz, completed_at timestamptz, as_of date, tz text
) RETURNS text LANGUAGE sql STABLE AS $$
SELECT COALESCE({timeliness_case()}, '')
$$;
"""


KEY_UNIT = "unit_id, group_id, timeliness, kpi_timeliness"
KEY_TOTAL = "unit_id, timeliness, kpi_timeliness"
KEY_MONTH = "province_id, group_id, timeliness, kpi_timeliness, month, kpi_month"


def contributions(
    source: str, sign: str, as_of: str, tz: str, *, tasks: str = T, units: str = U, also: str = ""
) -> str:
    """SELECT of each tracked row of `source` (assignment columns) with its keys in both tables
    and `sign`, its classes judged as of `as_of` (SQL expressions); its group read from `tasks` and
    its province from `units` (a trigger's OLD TABLE for the values before an update); `also`: more
    FROM items `as_of` and `tz` refer to."""
    kpi = "COALESCE(r.original_deadline, r.deadline)"
    return f"""
SELECT r.unit_id, k.group_id, COALESCE(u.parent_id, u.id) AS province_id,
    tasks_app_timeliness(r.status, r.deadline, r.submitted_at, r.completed_at, {as_of}, {tz}) AS timeliness,
    tasks_app_timeliness(r.status, {kpi}, r.submitted_at, r.completed_at, {as_of}, {tz}) AS kpi_timeliness,
    date_trunc('month', r.deadline)::date AS month, date_trunc('month', {kpi})::date AS kpi_month,
    {sign}::bigint AS n
FROM {source} r {also} JOIN {tasks} k ON k.id = r.task_id JOIN {units} u ON u.id = r.unit_id
WHERE r.status IN {_in(TRACKED)}"""


def insert_deltas(contrib: str) -> str:
    """One statement adding the grouped, non-zero deltas of `contrib` (a SELECT) to both tables."""
    return f"""
WITH c AS ({contrib}),
u AS (
    INSERT INTO {UNITS} ({KEY_UNIT}, n)
    SELECT {KEY_UNIT}, sum(n) FROM c GROUP BY {KEY_UNIT} HAVING sum(n) <> 0
),
t AS (
    INSERT INTO {TOTALS} ({KEY_TOTAL}, n)
    SELECT {KEY_TOTAL}, sum(n) FROM c GROUP BY {KEY_TOTAL} HAVING sum(n) <> 0
)
INSERT INTO {MONTHS} ({KEY_MONTH}, n)
SELECT {KEY_MONTH}, sum(n) FROM c GROUP BY {KEY_MONTH} HAVING sum(n) <> 0"""


def _delta_function(name: str, statement: str, comment: str = "") -> str:
    """A statement trigger's function: read the anchor, add `statement`'s deltas."""
    return f"""{comment}
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE an {ANCHOR} := tasks_app_counts_anchor();
BEGIN
    {statement};
    RETURN NULL;
END $$;
"""


def _trigger_sql() -> str:
    tz = settings.TIME_ZONE.replace("'", "")
    anchored = "an.as_of", "an.time_zone"

    def replaced(old_source: str, new_source: str, **old_tables: str) -> str:
        """The deltas of rows leaving their old keys (−1, read through `old_tables`) for new ones (+1)."""
        return insert_deltas(
            contributions(old_source, "-1", *anchored, **old_tables)
            + " UNION ALL "
            + contributions(new_source, "1", *anchored)
        )

    def assignments_of_moved(foreign_key: str, column: str) -> str:
        """The assignments under the updated rows (tasks, units) whose `column` changed."""
        return f"""(
SELECT a.* FROM {A} a JOIN new_rows n ON n.id = a.{foreign_key} JOIN old_rows o ON o.id = n.id
WHERE o.{column} IS DISTINCT FROM n.{column})"""

    moved_tasks = assignments_of_moved("task_id", "group_id")
    moved_units = assignments_of_moved("unit_id", "parent_id")
    return f"""
{timeliness_sql()}

CREATE OR REPLACE FUNCTION tasks_app_counts_anchor() RETURNS {ANCHOR} LANGUAGE plpgsql AS $$
DECLARE an {ANCHOR};
BEGIN
    -- Shared: many writers at once; roll() takes it for update and waits for them.
    SELECT * INTO an FROM {ANCHOR} WHERE id = 1 FOR SHARE;
    IF NOT FOUND THEN
        INSERT INTO {ANCHOR} (id, as_of, time_zone)
        VALUES (1, (now() AT TIME ZONE '{tz}')::date, '{tz}') ON CONFLICT DO NOTHING;
        SELECT * INTO an FROM {ANCHOR} WHERE id = 1 FOR SHARE;
    END IF;
    RETURN an;
END $$;
{_delta_function("tasks_app_counts_inserted", insert_deltas(contributions("new_rows", "1", *anchored)))}
{_delta_function("tasks_app_counts_deleted", insert_deltas(contributions("old_rows", "-1", *anchored)))}
{_delta_function("tasks_app_counts_updated", replaced("old_rows", "new_rows"))}
CREATE OR REPLACE FUNCTION tasks_app_counts_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {UNITS};
    DELETE FROM {TOTALS};
    DELETE FROM {MONTHS};
    RETURN NULL;
END $$;
{
        _delta_function(
            "tasks_app_counts_task_moved",
            replaced(moved_tasks, moved_tasks, tasks="old_rows"),
            "-- A task moved to another group: its assignments' counts move with it.",
        )
    }
{
        _delta_function(
            "tasks_app_counts_unit_moved",
            replaced(moved_units, moved_units, units="old_rows"),
            "-- A unit moved to another province: the by-month counts (keyed by province) move with it.",
        )
    }
DROP TRIGGER IF EXISTS counts_inserted ON {A};
DROP TRIGGER IF EXISTS counts_updated ON {A};
DROP TRIGGER IF EXISTS counts_deleted ON {A};
DROP TRIGGER IF EXISTS counts_truncated ON {A};
DROP TRIGGER IF EXISTS counts_task_moved ON {T};
DROP TRIGGER IF EXISTS counts_unit_moved ON {U};
CREATE TRIGGER counts_inserted AFTER INSERT ON {A} REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tasks_app_counts_inserted();
CREATE TRIGGER counts_updated AFTER UPDATE ON {A} REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tasks_app_counts_updated();
CREATE TRIGGER counts_deleted AFTER DELETE ON {A} REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tasks_app_counts_deleted();
CREATE TRIGGER counts_truncated AFTER TRUNCATE ON {A} FOR EACH STATEMENT EXECUTE FUNCTION tasks_app_counts_truncated();
CREATE TRIGGER counts_task_moved AFTER UPDATE ON {T} REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tasks_app_counts_task_moved();
CREATE TRIGGER counts_unit_moved AFTER UPDATE ON {U} REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tasks_app_counts_unit_moved();
"""


def maintained() -> bool:
    return connection.vendor == "postgresql"


def install() -> None:
    """Create (or replace) the functions and triggers. Idempotent; the migration runs it."""
    if maintained():
        with connection.cursor() as cursor:
            cursor.execute(_trigger_sql())


def _lock_anchor(cursor) -> tuple[dt.date, str] | None:
    cursor.execute(f"SELECT as_of, time_zone FROM {ANCHOR} WHERE id = 1 FOR UPDATE")
    row = cursor.fetchone()
    return (row[0], row[1]) if row else None


def rebuild(today: dt.date) -> None:
    """Recount everything from the assignments, as of `today` (the migration; `reconcile --fix`)."""
    if not maintained():
        return
    tz = settings.TIME_ZONE
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ANCHOR} (id, as_of, time_zone) VALUES (1, %s, %s) "
            "ON CONFLICT (id) DO UPDATE SET as_of = EXCLUDED.as_of, time_zone = EXCLUDED.time_zone",
            [today, tz],
        )
        _lock_anchor(cursor)
        cursor.execute(f"DELETE FROM {UNITS}")
        cursor.execute(f"DELETE FROM {TOTALS}")
        cursor.execute(f"DELETE FROM {MONTHS}")
        cursor.execute(insert_deltas(contributions(A, "1", "%s::date", "%s")), [today, tz, today, tz])
        cursor.execute(f"ANALYZE {UNITS}, {TOTALS}, {MONTHS}")


def _crossing(basis_deadline: str, lo: str, hi: str) -> str:
    """The open work still being worked on whose deadline (of a basis) lies in [lo, hi)."""
    return (
        f"(SELECT r.* FROM {A} r WHERE r.status IN {_in(WORKING)} "
        f"AND {basis_deadline} >= {lo} AND {basis_deadline} < {hi})"
    )


_DEADLINE = {"current": "r.deadline", "original": "COALESCE(r.original_deadline, r.deadline)"}


def roll(today: dt.date) -> None:
    """Move the anchor to `today`: the work that crossed its deadline in between is reclassed (both
    bases), then the deltas are folded. Run nightly by the beat (`counts.roll`); readers are exact
    without it, only slower the further the anchor lags."""
    if not maintained():
        return
    with transaction.atomic(), connection.cursor() as cursor:
        anchor = _lock_anchor(cursor)
        if anchor is None:
            rebuild(today)
            return
        as_of, tz = anchor
        if as_of != today:
            lo, hi = min(as_of, today), max(as_of, today)
            crossing = (
                f"(SELECT r.* FROM {A} r WHERE r.status IN {_in(WORKING)} AND ("
                f"(r.deadline >= %s AND r.deadline < %s) OR "
                f"(COALESCE(r.original_deadline, r.deadline) >= %s AND COALESCE(r.original_deadline, r.deadline) < %s)))"
            )
            old = contributions(crossing, "-1", "%s::date", "%s")
            new = contributions(crossing, "1", "%s::date", "%s")
            cursor.execute(
                insert_deltas(f"{old} UNION ALL {new}"),
                [as_of, tz, as_of, tz, lo, hi, lo, hi, today, tz, today, tz, lo, hi, lo, hi],
            )
            cursor.execute(f"UPDATE {ANCHOR} SET as_of = %s WHERE id = 1", [today])
    compact()


def compact() -> None:
    """Fold the deltas into one row per key, in one statement per table: rows inserted meanwhile by
    transactions not yet committed are not seen, so not deleted, and still count when they commit."""
    if not maintained():
        return
    with connection.cursor() as cursor:
        for table, key in ((UNITS, KEY_UNIT), (TOTALS, KEY_TOTAL), (MONTHS, KEY_MONTH)):
            cursor.execute(
                f"WITH gone AS (DELETE FROM {table} RETURNING {key}, n) "
                f"INSERT INTO {table} ({key}, n) SELECT {key}, sum(n) FROM gone GROUP BY {key} HAVING sum(n) <> 0"
            )
        cursor.execute(f"ANALYZE {UNITS}, {TOTALS}, {MONTHS}")


def dashboard_figures(
    today: dt.date,
    *,
    basis: str = "current",
    province_id: int | None = None,
    group_id: int | None = None,
    plan_id: int | None = None,
) -> dict[str, Any]:
    """The dashboard's per-unit, by-group and by-month figures from the counts, in one statement (one
    snapshot), corrected for the work that crossed its deadline between the anchor and `today`.
    The same shapes as the `GROUP BY` of `tracked()` (see `orm_figures`)."""
    column = "kpi_timeliness" if basis == "original" else "timeliness"
    month = "kpi_month" if basis == "original" else "month"
    # Scalar subqueries rather than the CTE's column: the planner then sees a range of one column
    # between two constants and expects a day's rows, not a tenth of the table (which priced the
    # statement high enough to be JIT-compiled, 150 ms, for nothing).
    anchor = f"(SELECT as_of FROM {ANCHOR} WHERE id = 1)"
    lo, hi = f"LEAST({anchor}, %(today)s::date)", f"GREATEST({anchor}, %(today)s::date)"
    crossing = _crossing(_DEADLINE[basis], lo, hi)
    # Without a group or plan filter the units' totals (a few rows a unit) answer; with one, the
    # counts by unit and group.
    grouped = bool(group_id or plan_id)
    unit_where, month_where = ["true"], ["true"]
    params: dict[str, Any] = {"today": today}
    if province_id is not None:
        unit_where.append(f"unit_id IN (SELECT id FROM {U} WHERE id = %(province)s OR parent_id = %(province)s)")
        month_where.append("province_id = %(province)s")
        params["province"] = province_id
    if group_id:
        unit_where.append("group_id = %(group)s")
        month_where.append("group_id = %(group)s")
        params["group"] = group_id
    if plan_id:
        unit_where.append(f"group_id IN (SELECT id FROM {G} WHERE plan_id = %(plan)s)")
        month_where.append(f"group_id IN (SELECT id FROM {G} WHERE plan_id = %(plan)s)")
        params["plan"] = plan_id
    # The correction: the crossing rows classed as of the anchor (as stored, −1) and as of today (+1).
    stored = contributions(crossing, "-1", "an.as_of", "an.time_zone", also="CROSS JOIN an")
    now = contributions(crossing, "1", "%(today)s::date", "an.time_zone", also="CROSS JOIN an")
    corr = f"SELECT x.unit_id, x.group_id, x.province_id, x.{column} AS t, x.{month} AS m, x.n FROM ({stored} UNION ALL {now}) x"
    sql = f"""
WITH an AS (SELECT as_of, time_zone FROM {ANCHOR} WHERE id = 1),
corr AS ({corr}),
unit_rows AS (
    SELECT unit_id, {"group_id" if grouped else "NULL::bigint AS group_id"}, {column} AS t, n FROM {UNITS if grouped else TOTALS}
    UNION ALL SELECT unit_id, group_id, t, n FROM corr
),
month_rows AS (
    SELECT province_id, group_id, {month} AS m, {column} AS t, n FROM {MONTHS}
    UNION ALL SELECT province_id, group_id, m, t, n FROM corr
)
SELECT 'u', unit_id, NULL::date, t, sum(n)::bigint FROM unit_rows WHERE {" AND ".join(unit_where)}
GROUP BY unit_id, t HAVING sum(n) <> 0
UNION ALL
SELECT 'm', group_id, m, t, sum(n)::bigint FROM month_rows WHERE {" AND ".join(month_where)}
GROUP BY group_id, m, t HAVING sum(n) <> 0"""
    # Where the ORM would read the counts from: the replica inside `reads_from_replica` views.
    from tasks_app.models import UnitTotal

    with connections[router.db_for_read(UnitTotal)].cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    per_unit: dict[int, dict[str, int]] = {}
    by_group: defaultdict[int, dict[str, int]] = defaultdict(dict)
    by_month: defaultdict[dt.date, dict[str, int]] = defaultdict(dict)
    for kind, key, month_of, cls, n in rows:
        if kind == "u":
            row = per_unit.setdefault(
                key, {"unit_id": key, "assigned": 0, "on_time": 0, "late": 0, "overdue": 0, "open": 0}
            )
            row["assigned"] += n
            if cls == Timeliness.COMPLETED_ON_TIME:
                row["on_time"] += n
            elif cls == Timeliness.COMPLETED_LATE:
                row["late"] += n
            else:  # tracked and not accepted: open (TRACKED = OPEN + accepted)
                row["open"] += n
                if cls == Timeliness.OVERDUE:
                    row["overdue"] += n
        else:
            by_group[key][cls] = by_group[key].get(cls, 0) + n
            by_month[month_of][cls] = by_month[month_of].get(cls, 0) + n
    return {"per_unit": per_unit, "by_group": dict(by_group), "by_month": dict(by_month)}


def figure_columns(*, with_open: bool = True) -> dict[str, Count]:
    """The dashboard's figures of a group of tracked assignments (annotated on `tracked()`, whose
    `timeliness` it reads): assigned, completed on time, completed late, overdue and, with
    `with_open`, still open. The one definition the ORM path, the national view and the benchmarks
    annotate with."""
    columns = {
        "assigned": Count("pk"),
        "on_time": Count("pk", filter=Q(timeliness=Timeliness.COMPLETED_ON_TIME)),
        "late": Count("pk", filter=Q(timeliness=Timeliness.COMPLETED_LATE)),
        "overdue": Count("pk", filter=Q(timeliness=Timeliness.OVERDUE)),
    }
    if with_open:
        columns["open"] = Count("pk", filter=Q(status__in=OPEN))
    return columns


def orm_figures(tracked, basis: str = "current") -> dict[str, Any]:
    """The same figures by the ORM's `GROUP BY` over `tracked()` (the reference `reconcile` checks
    against, and the dashboard's path where the counts cannot answer)."""

    month_of = "kpi_deadline" if basis == "original" else "deadline"
    per_unit = {row["unit_id"]: row for row in tracked.values("unit_id").annotate(**figure_columns())}
    by_group: defaultdict[int, dict[str, int]] = defaultdict(dict)
    for row in tracked.values("task__group_id", "timeliness").annotate(n=Count("pk")):
        by_group[row["task__group_id"]][row["timeliness"]] = row["n"]
    by_month: defaultdict[dt.date, dict[str, int]] = defaultdict(dict)
    for row in tracked.annotate(month=TruncMonth(month_of)).values("month", "timeliness").annotate(n=Count("pk")):
        by_month[row["month"]][row["timeliness"]] = row["n"]
    return {"per_unit": per_unit, "by_group": dict(by_group), "by_month": dict(by_month)}


def _differences(label: str, expected: dict, got: dict) -> list[str]:
    return [
        f"{label} {key}: counted {got.get(key)}, GROUP BY {expected.get(key)}"
        for key in sorted(set(expected) | set(got), key=str)
        if expected.get(key) != got.get(key)
    ]


def _marginals(cursor, table: str, key: str) -> dict:
    cursor.execute(f"SELECT {key}, sum(n)::bigint FROM {table} GROUP BY {key} HAVING sum(n) <> 0")
    return {row[:-1]: row[-1] for row in cursor.fetchall()}


def reconcile(today: dt.date) -> list[str]:
    """Differences between the counts and the ORM's full `GROUP BY`, for both bases, unfiltered and
    for each plan; and between the three tables' shared marginals (by unit; by group). Empty when
    they agree."""
    from tasks_app.models import Assignment, Plan

    problems = []
    plans = list(Plan.objects.filter(groups__isnull=False).distinct().values_list("pk", flat=True))
    for basis in ("current", "original"):
        tracked = Assignment.objects.tracked(today, original_deadline=basis == "original").order_by()
        for plan_id in [None, *plans]:
            rows = tracked if plan_id is None else tracked.filter(task__group__plan_id=plan_id)
            expected, got = orm_figures(rows, basis), dashboard_figures(today, basis=basis, plan_id=plan_id)
            for part in ("per_unit", "by_group", "by_month"):
                problems += _differences(f"{basis} plan={plan_id or 'all'} {part}", expected[part], got[part])
    with connection.cursor() as cursor:
        problems += _differences(
            "by unit: unit and group counts vs unit totals",
            _marginals(cursor, TOTALS, KEY_TOTAL),
            _marginals(cursor, UNITS, KEY_TOTAL),
        )
        by_group = "group_id, timeliness, kpi_timeliness"
        problems += _differences(
            "by group: unit and group counts vs month counts",
            _marginals(cursor, MONTHS, by_group),
            _marginals(cursor, UNITS, by_group),
        )
    return problems
