"""API throughput through gunicorn vs a bare Django view returning the same JSON, same server.

A commune's key lists its assignments, 50 per page with filters on. The baseline view returns the
bytes of that very response, precomputed. Both run on one gunicorn (deploy/gunicorn.conf.py,
production settings, 2 × cores + 1 workers), loaded by wrk on loopback in alternating rounds; the
ratio of the two throughputs is measured in one run and is what the result states.

    python bench/api_throughput.py [--seconds 15] [--connections 8] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402
from tests import loopback_stack  # noqa: E402

LIST = "/api/v1/assignments/?status=in_progress&due_after=2026-03-01&page_size=50"
BASELINE = "/bench/baseline/"
CACHED = "/bench/api-cached/?status=in_progress&due_after=2026-03-01&page_size=50"


def wrk(url: str, *, seconds: int, connections: int, authorization: str = "") -> dict:
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
        env={**os.environ, "BENCH_AUTHORIZATION": authorization},
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    line = next(line for line in result.stdout.splitlines() if line.startswith("WRK_JSON "))
    return json.loads(line.removeprefix("WRK_JSON "))


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


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--commune", default=None, help="unit code (default: picked from the database)")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")

    common.header("API throughput: commune key, 50 per page, filters on — vs bare Django view, same gunicorn")
    workdir = Path(tempfile.mkdtemp(prefix="bench-api-"))
    key = unit_key(args.commune or common.bench_commune_code())
    payload = workdir / "payload.json"
    port = loopback_stack.free_port()
    stack = loopback_stack.Stack(workdir, common.server_env(BENCH_PAYLOAD=str(payload)))
    try:
        stack.gunicorn(port, workers=(os.cpu_count() or 1) * 2 + 1)
        base = f"http://127.0.0.1:{port}"
        http = requests.Session()
        http.trust_env = False
        http.headers["X-Forwarded-Proto"] = "https"
        response = http.get(base + LIST, headers={"Authorization": f"Bearer {key}"}, timeout=30)
        response.raise_for_status()
        payload.write_bytes(response.content)
        rows = len(response.json()["results"])
        same = http.get(base + BASELINE, timeout=30).content == response.content
        assert same, "the baseline must return the very bytes of the API response"
        print(
            f"payload: {rows} assignments, {len(response.content)} bytes; gunicorn workers: {(os.cpu_count() or 1) * 2 + 1}"
        )
        # Warm both paths (worker start-up, connections, caches), then alternate rounds.
        wrk(base + LIST, seconds=3, connections=args.connections, authorization=f"Bearer {key}")
        wrk(base + BASELINE, seconds=3, connections=args.connections)
        wrk(base + CACHED, seconds=3, connections=args.connections, authorization=f"Bearer {key}")
        runs: dict[str, list[dict]] = {"api": [], "baseline": [], "api, page cached (prototype)": []}
        bearer = f"Bearer {key}"
        for _ in range(args.rounds):
            runs["api"].append(
                wrk(base + LIST, seconds=args.seconds, connections=args.connections, authorization=bearer)
            )
            runs["baseline"].append(wrk(base + BASELINE, seconds=args.seconds, connections=args.connections))
            runs["api, page cached (prototype)"].append(
                wrk(base + CACHED, seconds=args.seconds, connections=args.connections, authorization=bearer)
            )
    finally:
        codes = stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    summary = {}
    for name, results in runs.items():
        total = sum(r["requests"] for r in results)
        seconds = sum(r["seconds"] for r in results)
        summary[name] = {
            "rps": total / seconds,
            "p50_ms": max(r["p50_ms"] for r in results),
            "p95_ms": max(r["p95_ms"] for r in results),
            "p99_ms": max(r["p99_ms"] for r in results),
            "non_2xx": sum(r["non_2xx"] for r in results),
            "errors": sum(r["errors"] for r in results),
        }
    ratio = summary["api"]["rps"] / summary["baseline"]["rps"]
    print("| | req/s | p50 ms | p95 ms | p99 ms | non-2xx | errors |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, s in summary.items():
        print(
            f"| {name} | {s['rps']:.0f} | {s['p50_ms']:.1f} | {s['p95_ms']:.1f} | {s['p99_ms']:.1f} | {s['non_2xx']} | {s['errors']} |"
        )
    cached = summary["api, page cached (prototype)"]["rps"] / summary["baseline"]["rps"]
    print(f"\nAPI / baseline throughput: {ratio:.0%} (target ≥ 50%); with the page cached: {cached:.0%}")
    print(f"gunicorn stopped with {codes}")
    return {**summary, "ratio": ratio, "cached_ratio": cached}


if __name__ == "__main__":
    main()
