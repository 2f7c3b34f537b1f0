"""What the benchmarks share: the scale database, Django set-up, the machine's description, timing.

Every benchmark runs against PostgreSQL holding the national-scale data
(`manage.py generate_scale_data`, 1,000,000 assignments on the real units of the 34 provinces,
as `load_province --all` loads them), in its own database:
BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/acc_scale) and Redis database 7
(BENCH_REDIS_URL). `prepare()` creates, migrates and fills the database when it is missing.
"""

from __future__ import annotations

import os
import platform
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/acc_scale")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
ASSIGNMENTS = int(os.environ.get("BENCH_ASSIGNMENTS", "1000000"))
# The day the generated data describes (generate_scale_data's default --as-of): "today" for the
# aggregates, so every run measures the same thing.
AS_OF = "2026-03-02"


def server_env(**extra: str) -> dict[str, str]:
    """Production settings for a server process (gunicorn) started by a benchmark."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),  # noqa: S108
        "LANG": "C.UTF-8",
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        # The API's per-key throttle would answer 429 to a load test: raised for the benchmark only.
        # Per second, not per minute: DRF's throttle keeps one timestamp per request in its window,
        # so a one-second window holds about as many as production's 600/min at its limit.
        "API_THROTTLE_RATE": "1000000/s",
        "VAR_DIR": str(ROOT / "var" / "bench"),
        "LOG_LEVEL": "WARNING",
        "GUNICORN_ACCESS_LOG": "/dev/null",
        # Steady-state serving: at benchmark rates, recycling a worker every 2,000 requests would
        # restart one every few seconds and measure Django's start-up instead.
        "GUNICORN_MAX_REQUESTS": "0",
    }
    env.update(extra)
    return env


def setup_django() -> None:
    os.environ["DATABASE_URL"] = DATABASE_URL
    os.environ.setdefault("REDIS_URL", REDIS_URL)
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
    os.environ.setdefault("VAR_DIR", str(ROOT / "var" / "bench"))
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _manage(*args: str) -> None:
    env = {**os.environ, "DATABASE_URL": DATABASE_URL, "DEBUG": "true", "LOG_LEVEL": "WARNING"}
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database named by `url` when it does not exist (each benchmark migrates its own)."""
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            print(f"creating database {name}")
            conn.execute(f'CREATE DATABASE "{name}"')


def prepare() -> None:
    """Create the database, migrate it and generate the scale data when they are not there."""
    import psycopg

    parsed = urlparse(DATABASE_URL)
    name = parsed.path.lstrip("/")
    admin = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    if exists and _holds_invented_units():
        # Data of the generator before issue 15 (provinces SC-P01…): the benchmarks now pick real
        # units from the database, so the benchmark database is made again.
        print(f"{name} holds the invented provinces SC-P01…; dropping it to generate on the real units")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        exists = None
    if not exists:
        with psycopg.connect(admin, autocommit=True) as conn:
            print(f"creating database {name}")
            conn.execute(f'CREATE DATABASE "{name}"')
    _manage("migrate", "--noinput", "-v0")
    with psycopg.connect(DATABASE_URL) as conn:
        count = conn.execute("SELECT count(*) FROM tasks_app_assignment").fetchone()[0]
    if count == 0:
        print(f"generating {ASSIGNMENTS} assignments (about a minute per million)")
        _manage("generate_scale_data", "--assignments", str(ASSIGNMENTS))
    elif count != ASSIGNMENTS:
        print(f"note: {name} holds {count} assignments, not {ASSIGNMENTS}; measuring what is there")
    # The pages render with the production static storage, whose manifest collectstatic writes.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=server_env(DJANGO_SETTINGS_MODULE="accountability.settings"),
        check=True,
    )


def _holds_invented_units() -> bool:
    import psycopg

    with psycopg.connect(DATABASE_URL) as conn:
        if not conn.execute("SELECT to_regclass('tasks_app_unit')").fetchone()[0]:
            return False
        return conn.execute("SELECT EXISTS (SELECT 1 FROM tasks_app_unit WHERE code LIKE 'SC-P%%')").fetchone()[0]


# --- units and actors picked from the database (never hard-coded codes) ---------------------------

# The province the single-unit benchmarks use when it is loaded (Hải Phòng, the first customer);
# otherwise the province with the most assignments.
HOME_PROVINCE = os.environ.get("BENCH_PROVINCE", "31")


def bench_province_code() -> str:
    """The province the per-province benchmarks measure: BENCH_PROVINCE (default 31) when it holds
    work, else the province with the most assignments."""
    import psycopg

    with psycopg.connect(DATABASE_URL) as conn:
        rows = conn.execute(
            "SELECT p.code, count(a.id) FROM tasks_app_unit p "
            "JOIN tasks_app_unit u ON u.parent_id = p.id JOIN tasks_app_assignment a ON a.unit_id = u.id "
            "WHERE p.parent_id IS NULL GROUP BY p.code ORDER BY count(a.id) DESC, p.code"
        ).fetchall()
    if not rows:
        raise SystemExit("no province holds assignments: run bench/run.py (it generates the data)")
    codes = [code for code, _n in rows]
    return HOME_PROVINCE if HOME_PROVINCE in codes else codes[0]


def bench_commune_code() -> str:
    """A commune of bench_province_code() with the most assignments (the first by code among
    equals): the unit whose key and head the single-unit benchmarks use."""
    import psycopg

    with psycopg.connect(DATABASE_URL) as conn:
        row = conn.execute(
            "SELECT u.code FROM tasks_app_unit u JOIN tasks_app_unit p ON p.id = u.parent_id "
            "JOIN tasks_app_assignment a ON a.unit_id = u.id "
            "WHERE p.code = %s AND u.kind IN ('ward', 'commune', 'special_zone') "
            "GROUP BY u.code ORDER BY count(a.id) DESC, u.code LIMIT 1",
            [bench_province_code()],
        ).fetchone()
    return row[0]


def machine() -> dict[str, str]:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kb = int(meminfo.read_text().split()[1])
        memory = f"{kb / 1024 / 1024:.0f} GiB"
    import psycopg

    with psycopg.connect(DATABASE_URL) as conn:
        postgres = conn.execute("SHOW server_version").fetchone()[0]
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu": f"{cpu} × {os.cpu_count()} cores",
        "memory": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "postgresql": postgres,
    }


def timed(fn, *, repeat: int = 5, warmup: int = 1) -> tuple[float, object]:
    """Median wall time of fn() over `repeat` runs after `warmup` runs; and fn's last result."""
    result = None
    for _ in range(warmup):
        result = fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def header(title: str) -> None:
    print(f"\n## {title}\n", flush=True)
