"""`make bench`: prepare the national-scale database, then run every benchmark in one go.

Prints the machine, the date and each benchmark's table (markdown), ready for bench/RESULTS.md.
The reminder sweep's own benchmark (bench/reminder_sweep.py, by the reminders area) runs last in
its own database (BENCH_REMINDERS_DATABASE_URL, default acc_reminders).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402


def main() -> None:
    common.prepare()
    common.header("Machine")
    for name, value in common.machine().items():
        print(f"- {name}: {value}")
    sys.stdout.flush()
    # Each in its own process: the API benchmark starts gunicorn, the others set Django up in-process.
    for script in ("api_throughput.py", "aggregates.py", "query_counts.py", "sweep_scale.py", "scoping.py"):
        subprocess.run([sys.executable, str(common.ROOT / "bench" / script)], cwd=common.ROOT, check=True)
    sweep = common.ROOT / "bench" / "reminder_sweep.py"
    if sweep.exists():
        common.header("Reminder sweep (bench/reminder_sweep.py)")
        url = os.environ.get("BENCH_REMINDERS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/acc_reminders")
        common.ensure_database(url)  # reminder_sweep.py migrates it itself
        env = {**os.environ, "DATABASE_URL": url}
        subprocess.run([sys.executable, str(sweep)], cwd=common.ROOT, env=env, check=True)


if __name__ == "__main__":
    main()
