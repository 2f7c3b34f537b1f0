"""API list throughput through gunicorn vs a bare Django view returning the same JSON, same server;
and, in-process, the page's SQL time and the web CPU per page.

A commune's key (the bench province's commune with the most assignments, read from the
database by `common.bench_commune_code`) lists its assignments, 50 per page with filters on. The baseline view returns the bytes
of that very response, precomputed. Three loads run on one gunicorn (deploy/gunicorn.conf.py,
production settings, 2 × cores + 1 workers), by wrk on loopback in alternating rounds:

- `api, uncached`: every request computes the page (no If-None-Match);
- `api, unchanged (304)`: the client sends the page's ETag back in If-None-Match;
- `baseline`: the bare view.

The ratios to the baseline are measured in one run, with the CPU each process spent per request
under each load (gunicorn, the database's PostgreSQL backends, redis-server, wrk: /proc, Linux). In-process (Django test client, production
settings, the same page): the page's SQL statement timed on its own (with its `$n` parameters,
prepared, as the list runs it, and planned anew each time, as Django alone would), its EXPLAIN
(ANALYZE, BUFFERS), the web process's CPU per page (time.process_time, so the database's own CPU
is not counted) for the uncached page and the 304, the CPU of the request's own PostgreSQL backend
per page (read from /proc when the server is on this host), and django-filter's share.

    python bench/api_throughput.py [--seconds 15] [--connections 8] [--rounds 2] [--in-process 300]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402
from tests import loopback_stack  # noqa: E402

QUERY = "status=in_progress&due_after=2026-03-01&page_size=50"
LIST = f"/api/v1/assignments/?{QUERY}"
BASELINE = "/bench/baseline/"


def wrk(url: str, *, seconds: int, connections: int, authorization: str = "", if_none_match: str = "") -> dict:
    result = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(Path(__file__).parent / "wrk_report.lua"),
            url,
        ],
        env={**os.environ, "BENCH_AUTHORIZATION": authorization, "BENCH_IF_NONE_MATCH": if_none_match},
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    line = next(line for line in result.stdout.splitlines() if line.startswith("WRK_JSON "))
    return json.loads(line.removeprefix("WRK_JSON "))


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # gone meanwhile
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_by_process(master: int) -> dict[tuple[str, int], float] | None:
    """CPU seconds used so far by each process of gunicorn (master and workers), this database's
    PostgreSQL backends and redis-server, by (kind, pid), read from /proc (Linux, servers on this
    host); None elsewhere."""
    if not Path("/proc/self/stat").exists():
        return None
    database = urlparse(common.DATABASE_URL).path.lstrip("/")
    found: dict[tuple[str, int], float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if pid == master or parent == master:
            found["gunicorn", pid] = _cpu_seconds(pid)
        elif command.startswith("postgres:") and f" {database} " in command:
            found["postgres", pid] = _cpu_seconds(pid)
        elif "redis-server" in command:
            found["redis", pid] = _cpu_seconds(pid)
    return found


def cpu_spent(before: dict[tuple[str, int], float], after: dict[tuple[str, int], float]) -> dict[str, float]:
    """CPU seconds by kind between two readings: each process still there counted from the first
    reading (or from its start, if new). A backend that ended in between (a worker's connection
    reaching DB_CONN_MAX_AGE) is not counted at all: the figures are a lower bound."""
    spent = {"gunicorn": 0.0, "postgres": 0.0, "redis": 0.0}
    for (kind, pid), seconds in after.items():
        spent[kind] += seconds - before.get((kind, pid), 0.0)
    return spent


def unit_key(commune: str) -> str:
    out = subprocess.run(
        [sys.executable, "manage.py", "create_api_key", "--unit", commune, "--name", "bench: api_throughput"],
        cwd=common.ROOT,
        env=common.server_env(DJANGO_SETTINGS_MODULE="accountability.settings"),
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


def load(args, key: str) -> dict:
    """wrk against gunicorn: uncached, 304 and baseline, alternating rounds."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-api-"))
    payload = workdir / "payload.json"
    port = loopback_stack.free_port()
    workers = (os.cpu_count() or 1) * 2 + 1
    stack = loopback_stack.Stack(workdir, common.server_env(BENCH_PAYLOAD=str(payload)))
    bearer = f"Bearer {key}"
    cpu: dict[str, dict[str, float]] = {}
    try:
        master = stack.gunicorn(port, workers=workers).pid
        base = f"http://127.0.0.1:{port}"
        http = requests.Session()
        http.trust_env = False
        http.headers["X-Forwarded-Proto"] = "https"
        response = http.get(base + LIST, headers={"Authorization": bearer}, timeout=30)
        response.raise_for_status()
        payload.write_bytes(response.content)
        etag = response.headers["ETag"]
        again = http.get(base + LIST, headers={"Authorization": bearer, "If-None-Match": etag}, timeout=30)
        assert again.status_code == 304, again.status_code
        rows = len(response.json()["results"])
        assert http.get(base + BASELINE, timeout=30).content == response.content, (
            "the baseline must return the same bytes"
        )
        print(f"payload: {rows} assignments, {len(response.content)} bytes; ETag {etag}; gunicorn workers: {workers}")
        loads = {
            "api, uncached": dict(url=base + LIST, authorization=bearer),
            "api, unchanged (If-None-Match → 304)": dict(url=base + LIST, authorization=bearer, if_none_match=etag),
            "baseline": dict(url=base + BASELINE),
        }
        for spec in loads.values():  # warm: worker start-up, connections, prepared statements
            wrk(seconds=3, connections=args.connections, **spec)
        runs: dict[str, list[dict]] = {name: [] for name in loads}
        for _ in range(args.rounds):
            for name, spec in loads.items():
                before = cpu_by_process(master)
                children = resource.getrusage(resource.RUSAGE_CHILDREN)
                runs[name].append(wrk(seconds=args.seconds, connections=args.connections, **spec))
                after = cpu_by_process(master)
                if before is not None and after is not None:
                    spent = cpu.setdefault(name, dict.fromkeys(["gunicorn", "postgres", "redis", "wrk"], 0.0))
                    for kind, seconds in cpu_spent(before, after).items():
                        spent[kind] += seconds
                    done = resource.getrusage(resource.RUSAGE_CHILDREN)
                    spent["wrk"] += done.ru_utime + done.ru_stime - children.ru_utime - children.ru_stime
    finally:
        codes = stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"gunicorn stopped with {codes}")
    summary = {}
    for name, results in runs.items():
        summary[name] = {
            "rps": sum(r["requests"] for r in results) / sum(r["seconds"] for r in results),
            "p50_ms": max(r["p50_ms"] for r in results),
            "p95_ms": max(r["p95_ms"] for r in results),
            "p99_ms": max(r["p99_ms"] for r in results),
            "non_2xx": sum(r["non_2xx"] for r in results),
            "errors": sum(r["errors"] for r in results),
            # CPU per request in ms, by process (same host): where each load's time goes.
            "cpu_ms": {
                process: seconds / sum(r["requests"] for r in results) * 1000
                for process, seconds in cpu.get(name, {}).items()
            },
        }
    return summary


def in_process(commune: str, requests_: int) -> dict:
    """The page's SQL alone, its plan, and the web process's CPU per page, in this process."""
    os.environ.setdefault("API_THROTTLE_RATE", "1000000/s")  # as the servers run (common.server_env)
    common.setup_django()
    import psycopg
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tasks_app.api.filters import AssignmentFilter
    from tasks_app.api.models import ApiKey
    from tasks_app.models import Assignment, Unit

    unit = Unit.objects.get(code=commune)
    key_object, key = ApiKey.objects.create_key(name="bench: api_throughput in-process", unit=unit)
    try:
        client = Client(HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_X_FORWARDED_PROTO="https", HTTP_HOST="127.0.0.1")
        first = client.get(LIST)
        assert first.status_code == 200, first.status_code

        def get(**headers):
            response = client.get(LIST, **headers)
            assert response.status_code in (200, 304), response.status_code
            return response

        etag = first["ETag"]
        # The statements as text with their values (Django's own client-side binding for this one
        # request; the list prepares them otherwise, and shows `$n` placeholders).
        from django.conf import settings

        settings.API_PREPARED_STATEMENTS = False
        with CaptureQueriesContext(connection) as captured:
            client.get(LIST)
        settings.API_PREPARED_STATEMENTS = True
        queries = [q["sql"] for q in captured.captured_queries]
        page_sql = next(sql for sql in queries if "list_total" in sql)

        def backend_cpu() -> float | None:
            """CPU seconds used so far by this process's PostgreSQL backend (same host only)."""
            try:
                stat = Path(f"/proc/{connection.connection.info.backend_pid}/stat").read_text()
            except (OSError, AttributeError):
                return None
            fields = stat.rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        def cpu_per_request(**headers) -> tuple[float, float | None]:
            """Web CPU and the database's CPU (the request's own backend) per request, in ms."""
            for _ in range(20):
                get(**headers)
            started, database = time.process_time(), backend_cpu()
            for _ in range(requests_):
                get(**headers)
            web = (time.process_time() - started) / requests_ * 1000
            after = backend_cpu()
            return web, None if database is None or after is None else (after - database) / requests_ * 1000

        cpu_uncached, db_uncached = cpu_per_request()
        cpu_304, db_304 = cpu_per_request(HTTP_IF_NONE_MATCH=etag)
        # The same middleware and test client around the bare view: what any page costs here.
        payload = Path(tempfile.mkdtemp(prefix="bench-api-")) / "payload.json"
        payload.write_bytes(first.content)
        os.environ["BENCH_PAYLOAD"] = str(payload)
        for _ in range(20):
            client.get(BASELINE)
        started = time.process_time()
        for _ in range(requests_):
            client.get(BASELINE)
        cpu_baseline = (time.process_time() - started) / requests_ * 1000

        # django-filter: the filter set built, its form validated, the queryset filtered (no SQL run).
        from django.test import RequestFactory
        from rest_framework.request import Request

        request = Request(RequestFactory().get(LIST))
        base = Assignment.objects.with_timeliness()
        started = time.process_time()
        for _ in range(requests_):
            AssignmentFilter(request.query_params, queryset=base, request=request).qs  # noqa: B018
        filter_ms = (time.process_time() - started) / requests_ * 1000

        # The page's statement alone, over a connection of its own, as the list runs it (its `$n`
        # parameters, prepared: PostgreSQL's generic plan after five runs) and as Django alone
        # would (planned each time).
        from tasks_app.api.views import LIST_STATEMENTS

        (statement,) = [entry[0] for entry in LIST_STATEMENTS.entries.values()]  # this process's one page

        def sql_ms(prepare: bool) -> float:
            with psycopg.connect(common.DATABASE_URL, autocommit=True) as conn:
                conn.execute("SET TIME ZONE 'UTC'")  # as Django's connections
                cursor = conn.cursor()
                times = []
                for _ in range(requests_ // 3 + 10):
                    started = time.perf_counter()
                    cursor.execute(statement.sql, statement.params, prepare=prepare).fetchall()
                    times.append(time.perf_counter() - started)
                return statistics.median(times[10:]) * 1000

        prepared_ms, planned_ms = sql_ms(True), sql_ms(False)
        with psycopg.connect(common.DATABASE_URL, autocommit=True) as conn:
            for _ in range(3):
                plan = conn.execute(b"EXPLAIN (ANALYZE, BUFFERS) " + page_sql.encode()).fetchall()
        plan_text = "\n".join(line for (line,) in plan)
    finally:
        key_object.delete()
    return {
        "queries": len(queries),
        "cpu_uncached_ms": cpu_uncached,
        "cpu_304_ms": cpu_304,
        "db_cpu_uncached_ms": db_uncached,
        "db_cpu_304_ms": db_304,
        "cpu_baseline_ms": cpu_baseline,
        "filter_ms": filter_ms,
        "sql_prepared_ms": prepared_ms,
        "sql_planned_ms": planned_ms,
        "plan": plan_text,
        "page_sql": page_sql,
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--in-process", type=int, default=300, help="requests per in-process measurement")
    parser.add_argument("--commune", default="", help="a commune code (default: common.bench_commune_code())")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")

    common.header("API list: commune key, 50 per page, filters on — vs bare Django view, same gunicorn")
    commune = args.commune or common.bench_commune_code()
    print(f"commune: {commune}; page: {LIST}; load average at start: {os.getloadavg()[0]:.1f}")
    key = unit_key(commune)
    summary = load(args, key)
    print(f"load average at the end of the load: {os.getloadavg()[0]:.1f}")
    measured = in_process(commune, args.in_process)

    baseline = summary["baseline"]["rps"]
    print("\n| | req/s | of baseline | p50 ms | p95 ms | p99 ms | non-2xx | errors |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, s in summary.items():
        print(
            f"| {name} | {s['rps']:.0f} | {s['rps'] / baseline:.0%} | {s['p50_ms']:.1f} | {s['p95_ms']:.1f} "
            f"| {s['p99_ms']:.1f} | {s['non_2xx']} | {s['errors']} |"
        )
    if all(s["cpu_ms"] for s in summary.values()):
        print("\nCPU per request under the load, ms (gunicorn master and workers, this database's PostgreSQL")
        print("backends, redis-server, wrk; from /proc):\n")
        print("| | gunicorn | postgres | redis | wrk | all |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, s in summary.items():
            c = s["cpu_ms"]
            print(
                f"| {name} | {c['gunicorn']:.2f} | {c['postgres']:.2f} | {c['redis']:.3f} | {c['wrk']:.2f} "
                f"| {sum(c.values()):.2f} |"
            )
    uncached = summary["api, uncached"]["rps"] / baseline
    conditional = summary["api, unchanged (If-None-Match → 304)"]["rps"] / baseline
    print(
        f"\nuncached / baseline: {uncached:.0%} (target ≥ 25%); unchanged page (304) / baseline: "
        f"{conditional:.0%} (target ≥ 70%)"
    )
    print(
        f"page SQL (one statement: the page and its count): {measured['sql_prepared_ms']:.2f} ms prepared, "
        f"{measured['sql_planned_ms']:.2f} ms planned each time (target ≤ 1 ms); queries per page: {measured['queries']}"
    )
    print(
        f"web CPU per page: {measured['cpu_uncached_ms']:.2f} ms uncached, {measured['cpu_304_ms']:.2f} ms for a 304 "
        f"(target ≤ 3 ms); the bare view {measured['cpu_baseline_ms']:.2f} ms (test client and middleware, "
        f"counted in all three); django-filter, once per query and key: {measured['filter_ms']:.2f} ms"
    )
    if measured["db_cpu_uncached_ms"] is not None:
        print(
            f"PostgreSQL CPU per page (the request's own backend): {measured['db_cpu_uncached_ms']:.2f} ms uncached, "
            f"{measured['db_cpu_304_ms']:.2f} ms for a 304"
        )
    print("\nEXPLAIN (ANALYZE, BUFFERS) of the page's statement:\n\n```")
    print(measured["plan"])
    print("```")
    return {**summary, "uncached_ratio": uncached, "conditional_ratio": conditional, **measured}


if __name__ == "__main__":
    main()
