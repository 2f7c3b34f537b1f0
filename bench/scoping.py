"""The province wall's cost: each scoped query against the same query without the wall, on the same
rows, at national scale (1,000,000 assignments over the real units of the 34 provinces).

For each province measured (BENCH_PROVINCE, default Hải Phòng 31, and the largest, Hồ Chí Minh
City 79), three reads as the product makes them:

- a provincial leader's assignment list (`/assignments/`): `Assignment.objects.visible_to(leader)`
  with the page's annotations, its counters (one aggregate) and its first page of 50;
- the leader's dashboard aggregates (by unit, by group, by month), scoped to the province as
  `web.dashboard` scopes them;
- a province's portal key listing its assignments (`/api/v1/assignments/`): the API's queryset for
  the key, its count and its first page of 50 as the list reads them.

The baseline of each is the very same query with the wall taken away: the province's rows picked by
a literal list of its unit ids (what an unscoped query filtered to that province by hand does).
Both must return the same rows and figures (checked), and are timed alternately in one run (median
of --repeat rounds), so the ratio holds on a busy machine. Target: scoped ≤ 1.10 × unscoped.

    python bench/scoping.py [--repeat 15] [--province 31 --province 79]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

TARGET = 1.10


def _list(base, today):
    """The assignment list page's two statements: the counters and the first page of 50."""
    from tasks_app.web import views

    rows = base.with_timeliness(today).annotate(urgency=views.URGENCY)
    counts = views._counts(rows, today)
    page = [a.pk for a in views._list_rows(rows)[:50]]
    return counts, page


def _dashboard(tracked):
    """The dashboard's three GROUP BYs (web.dashboard._dashboard_figures' compute)."""
    from django.db.models import Count
    from django.db.models.functions import TruncMonth

    from tasks_app import counts

    by_unit = sorted(tuple(r.values()) for r in tracked.values("unit_id").annotate(**counts.figure_columns()))
    by_group = sorted(tuple(r.values()) for r in tracked.values("task__group_id", "timeliness").annotate(n=Count("pk")))
    by_month = sorted(
        tuple(r.values())
        for r in tracked.annotate(month=TruncMonth("deadline")).values("month", "timeliness").annotate(n=Count("pk"))
    )
    return by_unit, by_group, by_month


def _api_list(base):
    """The API list's two statements for a key: the paginator's count and the first 50 rows."""
    from tasks_app.api import serializers

    queryset = (
        base.with_timeliness()
        .select_related("task__group", "unit", "responsible", "authority")
        .order_by("deadline", "id")
        .values_list(*serializers.ASSIGNMENT_LIST_COLUMNS, named=True)
    )
    return queryset.count(), [r.id for r in queryset[:50]]


def alternate(scoped, unscoped, repeat: int) -> tuple[float, float, object, object]:
    """Median times of scoped() and unscoped(), run alternately (which goes first alternates too)."""
    a_result, b_result = scoped(), unscoped()  # warm both
    a_times, b_times = [], []
    for n in range(repeat):
        pair = [(scoped, a_times), (unscoped, b_times)]
        for fn, times in pair if n % 2 == 0 else reversed(pair):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
    return statistics.median(a_times), statistics.median(b_times), a_result, b_result


def measure(province_code: str, repeat: int) -> list[dict]:
    import datetime as dt

    from tasks_app.api.models import ApiKey
    from tasks_app.models import Assignment, Official, Unit
    from tasks_app.scope import in_province, province_units

    today = dt.date.fromisoformat(common.AS_OF)
    province = Unit.objects.get(code=province_code, parent__isnull=True)
    unit_ids = list(Unit.objects.filter(pk__in=province_units(province.pk)).values_list("pk", flat=True))
    leader = Official.objects.select_related("user", "unit").get(user__username=f"leader-{province_code}")
    key, _raw = ApiKey.objects.create_key(name="bench: scoping", is_portal=True, province=province)
    plain = Assignment.objects.filter(unit_id__in=unit_ids)  # the same rows, no wall
    cases = [
        (
            "leader's assignment list (counters + page of 50)",
            lambda: _list(Assignment.objects.visible_to(leader.user), today),
            lambda: _list(plain, today),
        ),
        (
            "leader's dashboard aggregates (3 GROUP BY)",
            # As web.dashboard scopes it: the province's work by scope.in_province.
            lambda: _dashboard(
                Assignment.objects.tracked(today, original_deadline=False).order_by().filter(in_province(province.pk))
            ),
            lambda: _dashboard(
                Assignment.objects.tracked(today, original_deadline=False).order_by().filter(unit_id__in=unit_ids)
            ),
        ),
        (
            "portal key's API list (count + page of 50)",
            lambda: _api_list(Assignment.objects.visible_to(key)),
            lambda: _api_list(plain),
        ),
    ]
    results = []
    try:
        for name, scoped, unscoped in cases:
            scoped_s, plain_s, got, expected = alternate(scoped, unscoped, repeat)
            assert got == expected, f"{name}: the scoped query must return what the unscoped one does"
            results.append({"province": province, "case": name, "scoped_s": scoped_s, "plain_s": plain_s})
    finally:
        key.delete()
    return results


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--province", action="append", help="province code (repeat); default: 31 and 79")
    args = parser.parse_args(argv)
    common.setup_django()
    from tasks_app.models import Assignment

    codes = args.province or list(dict.fromkeys([common.bench_province_code(), "79"]))
    common.header(
        f"The province wall's cost over {Assignment.objects.count():,} assignments: scoped vs the same query unscoped"
    )
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else ["?"]
    print(f"load average at start: {' '.join(load)}; median of {args.repeat} alternating rounds\n")
    print("| province | query | rows | scoped | unscoped (literal unit ids) | ratio | target |")
    print("|---|---|---:|---:|---:|---:|---:|")
    results = []
    for code in codes:
        from tasks_app.models import Unit

        rows = Assignment.objects.filter(unit__parent__code=code).count()
        for r in measure(code, args.repeat):
            ratio = r["scoped_s"] / r["plain_s"]
            r["ratio"] = ratio
            verdict = "" if ratio <= TARGET else " **over**"
            name = Unit.objects.get(pk=r["province"].pk).name
            print(
                f"| {code} {name} | {r['case']} | {rows:,} | {1000 * r['scoped_s']:.1f} ms "
                f"| {1000 * r['plain_s']:.1f} ms | {ratio:.3f}×{verdict} | ≤ {TARGET:.2f}× |"
            )
            results.append(r)
    worst = max(r["ratio"] for r in results)
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else ["?"]
    print(f"\nworst ratio {worst:.3f}× (target ≤ {TARGET:.2f}×); load average at end: {' '.join(load)}")
    return results


if __name__ == "__main__":
    main()
