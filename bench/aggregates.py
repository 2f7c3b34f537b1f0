"""Leader dashboard and unit KPI at national scale vs the raw SQL GROUP BY computing the same figures.

- Dashboard: the page a city leader opens (/dashboard/, rendered: totals, charts and the first 50
  units), cold (the cache emptied before each load, so its figures are read from the maintained
  counts, tasks_app/counts.py) and from the cache; the figures alone from the counts (on the counts'
  own day, and on the next day, before the nightly roll: corrected at read time); and the ORM's
  three GROUP BYs over `tracked()` (the path without counts: SQLite, a source-document filter),
  against three hand-written GROUP BY statements over the same rows. The figures are checked equal.
- Unit KPI: `tasks_app.kpi.scoring.unit_kpi` for the year (every commune, scored and ranked) against
  one GROUP BY giving the same per-unit counts and kept points.

    python bench/aggregates.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

TIMELINESS_SQL = """
CASE
  WHEN a.status IN ('draft', 'cancelled') OR {deadline} IS NULL THEN NULL
  WHEN a.status = 'accepted' THEN CASE WHEN (a.completed_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date <= {deadline}
       THEN 'completed_on_time' ELSE 'completed_late' END
  WHEN a.status = 'submitted' THEN CASE WHEN (a.submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date <= {deadline}
       THEN 'in_progress_on_time' ELSE 'in_progress_overdue' END
  WHEN {deadline} < %(today)s THEN 'in_progress_overdue'
  WHEN a.status = 'issued' THEN 'not_yet_due'
  ELSE 'in_progress_on_time'
END"""

CLASSES = ("not_yet_due", "in_progress_on_time", "in_progress_overdue", "completed_on_time", "completed_late")

RAW_DASHBOARD = {
    "unit": f"""
SELECT unit_id, count(*),
       count(*) FILTER (WHERE t = 'completed_on_time'), count(*) FILTER (WHERE t = 'completed_late'),
       count(*) FILTER (WHERE t = 'in_progress_overdue'),
       count(*) FILTER (WHERE status IN ('issued', 'in_progress', 'submitted', 'returned'))
FROM (SELECT a.unit_id, a.status, {TIMELINESS_SQL.format(deadline="a.deadline")} AS t
      FROM tasks_app_assignment a WHERE a.status NOT IN ('draft', 'cancelled')) x
GROUP BY unit_id""",
    "group": f"""
SELECT k.group_id, {TIMELINESS_SQL.format(deadline="a.deadline")} AS t, count(*)
FROM tasks_app_assignment a JOIN tasks_app_task k ON k.id = a.task_id
WHERE a.status NOT IN ('draft', 'cancelled') GROUP BY 1, 2""",
    "month": f"""
SELECT date_trunc('month', a.deadline)::date, {TIMELINESS_SQL.format(deadline="a.deadline")} AS t, count(*)
FROM tasks_app_assignment a WHERE a.status NOT IN ('draft', 'cancelled') GROUP BY 1, 2""",
}

# The previous baseline (until issue 14): assignments, delays, returns and kept points, without the
# count of each class, the class computed in the expression each time.
RAW_KPI_WITHOUT_CLASSES = f"""
SELECT unit_id, count(*), sum(delayed), sum(return_count),
       sum(1 - least(1, delayed * %(delay)s + return_count * %(ret)s))
FROM (SELECT a.unit_id, a.return_count,
             CASE WHEN {TIMELINESS_SQL.format(deadline="coalesce(a.original_deadline, a.deadline)")}
                  IN ('in_progress_overdue', 'completed_late') THEN 1 ELSE 0 END AS delayed
      FROM tasks_app_assignment a
      JOIN tasks_app_task k ON k.id = a.task_id JOIN tasks_app_taskgroup g ON g.id = k.group_id
      WHERE g.plan_id = %(plan)s AND a.status NOT IN ('draft', 'cancelled')
        AND coalesce(a.original_deadline, a.deadline) BETWEEN %(start)s AND %(end)s) x
GROUP BY unit_id"""

# The same figures as unit_kpi's: assignments, delays, returns, kept points and the count of each
# timeliness class (the KPI page shows them), the class computed once per row.
RAW_KPI = f"""
SELECT unit_id, count(*), sum(delayed), sum(return_count),
       sum(1 - least(1, delayed * %(delay)s + return_count * %(ret)s)),
       count(*) FILTER (WHERE t = 'not_yet_due'), count(*) FILTER (WHERE t = 'in_progress_on_time'),
       count(*) FILTER (WHERE t = 'in_progress_overdue'), count(*) FILTER (WHERE t = 'completed_on_time'),
       count(*) FILTER (WHERE t = 'completed_late')
FROM (SELECT unit_id, return_count, t,
             CASE WHEN t IN ('in_progress_overdue', 'completed_late') THEN 1 ELSE 0 END AS delayed
      FROM (SELECT a.unit_id, a.return_count,
                   {TIMELINESS_SQL.format(deadline="coalesce(a.original_deadline, a.deadline)")} AS t
      FROM tasks_app_assignment a
      JOIN tasks_app_task k ON k.id = a.task_id JOIN tasks_app_taskgroup g ON g.id = k.group_id
      WHERE g.plan_id = %(plan)s AND a.status NOT IN ('draft', 'cancelled')
        AND coalesce(a.original_deadline, a.deadline) BETWEEN %(start)s AND %(end)s) y) x
GROUP BY unit_id"""


def raw(sql: str, params: dict):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def dashboard(repeat: int) -> dict:
    from django.core.cache import cache
    from django.db.models import Count
    from django.db.models.functions import TruncMonth
    from django.test import Client

    from tasks_app import counts, lifecycle
    from tasks_app.models import Assignment, Official

    today = lifecycle.local_today()
    # The city office monitors the whole plan (leaders hold authority and must pass two-factor sign-in).
    leader = Official.objects.filter(role=Official.Role.OFFICE).select_related("user").first()
    client = Client(HTTP_X_FORWARDED_PROTO="https")
    client.force_login(leader.user)

    def page():
        response = client.get("/dashboard/")
        assert response.status_code == 200, response.status_code
        return len(response.content)

    def page_cold():
        # Cold: nothing cached (this benchmark's own Redis database), so the figures are read.
        cache.clear()
        return page()

    def orm():
        tracked = Assignment.objects.tracked(today, original_deadline=False).order_by()
        by_unit = list(tracked.values("unit_id").annotate(**counts.figure_columns()))
        by_group = list(tracked.values("task__group_id", "timeliness").annotate(n=Count("pk")))
        by_month = list(
            tracked.annotate(month=TruncMonth("deadline")).values("month", "timeliness").annotate(n=Count("pk"))
        )
        return by_unit, by_group, by_month

    def sql():
        return {name: raw(statement, {"today": today}) for name, statement in RAW_DASHBOARD.items()}

    def from_counts():
        return counts.dashboard_figures(today)

    tomorrow = today + dt.timedelta(days=1)

    def from_counts_next_day():
        return counts.dashboard_figures(tomorrow)

    cold_s, size = common.timed(page_cold, repeat=repeat)
    page_s, _size = common.timed(page, repeat=repeat)
    counts_s, counted = common.timed(from_counts, repeat=repeat)
    next_s, counted_next = common.timed(from_counts_next_day, repeat=repeat)
    orm_s, (by_unit, by_group, by_month) = common.timed(orm, repeat=repeat)
    raw_s, rows = common.timed(sql, repeat=repeat)
    # The same figures, or the comparison means nothing.
    assert sorted(tuple(r.values()) for r in by_unit) == sorted(rows["unit"])
    assert sorted((r["task__group_id"], r["timeliness"], r["n"]) for r in by_group) == sorted(rows["group"])
    assert sum(r["n"] for r in by_month) == sum(r[2] for r in rows["month"])
    assert sorted(tuple(r.values()) for r in counted["per_unit"].values()) == sorted(rows["unit"])
    assert sorted((g, t, n) for g, c in counted["by_group"].items() for t, n in c.items()) == sorted(rows["group"])
    assert sorted((m, t, n) for m, c in counted["by_month"].items() for t, n in c.items()) == sorted(rows["month"])
    next_rows = raw(RAW_DASHBOARD["unit"], {"today": tomorrow})
    assert sorted(tuple(r.values()) for r in counted_next["per_unit"].values()) == sorted(next_rows)
    return {
        "cold_s": cold_s,
        "page_s": page_s,
        "page_bytes": size,
        "counts_s": counts_s,
        "next_s": next_s,
        "orm_s": orm_s,
        "raw_s": raw_s,
        "units": len(by_unit),
        "count_rows": counts_rows(),
    }


def counts_rows() -> str:
    from tasks_app.models import MonthCount, UnitCount, UnitTotal

    return (
        f"{UnitTotal.objects.count():,} unit totals + {MonthCount.objects.count():,} by month read; "
        f"{UnitCount.objects.count():,} by unit and group for the group filter"
    )


def kpi(repeat: int) -> dict:
    from tasks_app.kpi import scoring
    from tasks_app.kpi.models import Level
    from tasks_app.models import Plan

    plan = Plan.objects.get(name__startswith="Kế hoạch thử tải", province__code=common.bench_province_code())
    period = scoring.Period.parse(f"{plan.year}")
    today = dt.date.fromisoformat(common.AS_OF)
    scheme = scoring.scheme_for(plan, period)
    as_of = period.as_of(today)

    def orm():
        return scoring.unit_kpi(plan, period, Level.COMMUNES, today=today)

    params = {
        "today": as_of,
        "plan": plan.pk,
        "start": period.start,
        "end": period.end,
        "delay": scheme.delay_penalty,
        "ret": scheme.return_penalty,
    }

    def sql():
        return raw(RAW_KPI, params)

    def sql_without_classes():
        return raw(RAW_KPI_WITHOUT_CLASSES, params)

    orm_s, result = common.timed(orm, repeat=repeat)
    raw_s, rows = common.timed(sql, repeat=repeat)
    old_raw_s, _rows = common.timed(sql_without_classes, repeat=repeat)
    by_unit = {r[0]: r for r in rows}
    for figure in result.figures:
        row = by_unit.get(figure.unit_id)
        assert (figure.assignments or 0) == (row[1] if row else 0), figure.code
        assert (figure.delays or 0) == (row[2] if row else 0), figure.code
        if row:
            assert [figure.counts[t] for t in CLASSES] == list(row[5:]), figure.code
    return {"orm_s": orm_s, "raw_s": raw_s, "old_raw_s": old_raw_s, "units": len(result.figures)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    common.setup_django()
    from django.db import connection

    from tasks_app.models import Assignment

    with connection.cursor() as cursor:
        # generate_scale_data loads with COPY and leaves statistics to autovacuum: collected here,
        # so both sides are planned on current statistics.
        cursor.execute("ANALYZE")

    common.header(f"Dashboard and unit KPI over {Assignment.objects.count():,} assignments vs raw SQL GROUP BY")
    d = dashboard(args.repeat)
    k = kpi(args.repeat)
    raw = d["raw_s"]
    print("| | ours (median) | raw SQL GROUP BY (median) | ratio | target | met |")
    print("|---|---:|---:|---:|---:|:---:|")

    def line(label, ours, base, target, met):
        print(f"| {label} | {ours:.3f} s | {base:.3f} s | {ours / base:.2f}× | {target} | {'yes' if met else 'no'} |")

    page = f"dashboard page, rendered ({d['units']} units in pages of 50, {d['page_bytes'] // 1024} KiB)"
    line(f"{page}, cold (nothing cached)", d["cold_s"], raw, "< 0.5 s", d["cold_s"] < 0.5)
    line(f"{page}, cached", d["page_s"], raw, "—", True)
    line(f"dashboard figures from the counts ({d['count_rows']}), the counts' day", d["counts_s"], raw, "exact", True)
    line("dashboard figures from the counts, next day before the roll (corrected)", d["next_s"], raw, "exact", True)
    line("dashboard figures by the ORM GROUP BY (no counts: SQLite, a document filter)", d["orm_s"], raw, "—", True)
    kpi_ratio = k["orm_s"] / k["raw_s"]
    line(f"unit KPI, year, {k['units']} communes scored and ranked", k["orm_s"], k["raw_s"], "≤ 1.5×", kpi_ratio <= 1.5)
    line(
        "unit KPI against the previous baseline (without the class counts)",
        k["orm_s"],
        k["old_raw_s"],
        "—",
        True,
    )
    return {"dashboard": d, "kpi": k}


if __name__ == "__main__":
    main()
