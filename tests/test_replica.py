"""Reads scaled out to a real PostgreSQL streaming replica (tasks_app/replica.py).

The test makes its own pair of clusters under a temporary directory, on free loopback ports: a
primary (initdb, with replication allowed) holding a copy of the test database, and a hot standby
made from it with `pg_basebackup -R`, streaming. Django's `default` connection is pointed at that
primary and a `replica` connection at the standby for the test, then put back.

(The shared test server on :5432 refuses replication connections in its pg_hba.conf, which this
project does not own, so the primary is a copy of the test database rather than the server itself.)

It checks where each kind of read goes, that a lagging replica (WAL replay paused) never shows a
writer an older state of their own change while others see the replica's state, and that the
site keeps working when the replica is stopped.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tasks_app import replica
from tasks_app.models import Assignment, Official, Plan, Task, TaskGroup, Unit
from tasks_app.status import Status
from tests.conftest import make_assignment, make_official
from tests.loopback_stack import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _pg_bin() -> Path | None:
    try:
        return Path(subprocess.check_output(["pg_config", "--bindir"], text=True).strip())  # noqa: S607
    except (OSError, subprocess.CalledProcessError):
        return None


class Cluster:
    """A PostgreSQL cluster of our own in a directory, run as the `postgres` user when we are root
    (the server refuses to run as root)."""

    def __init__(self, bindir: Path, datadir: Path, port: int):
        self.bindir, self.datadir, self.port = bindir, datadir, port

    def run(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60, **kwargs)  # noqa: S603

    def start(self) -> None:
        options = f"-p {self.port} -k {self.datadir.parent} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run("pg_ctl", "-D", str(self.datadir), "-o", options, "-l", str(self.datadir.parent / f"{self.port}.log"), "-w", "start")  # fmt: skip

    def stop(self) -> None:
        subprocess.run(  # noqa: S603
            (["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else [])
            + [str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )

    def sql(self, query: str, db: str = "postgres") -> str:
        return self.run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", db, "-Atc", query).stdout.strip()  # fmt: skip


@pytest.fixture
def streaming_pair(transactional_db, django_db_blocker, monkeypatch):
    bindir = _pg_bin()
    if bindir is None or not (bindir / "pg_basebackup").exists():
        pytest.fail("pg_basebackup and initdb are needed (Debian: postgresql-15)")
    workdir = Path(tempfile.mkdtemp(prefix="replica-test-"))
    os.chmod(workdir, 0o755)  # noqa: S103 — the server runs as `postgres`
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres")
    primary = Cluster(bindir, workdir / "primary", free_port())
    standby = Cluster(bindir, workdir / "standby", free_port())
    default = connections["default"]
    saved = dict(default.settings_dict)
    try:
        primary.run("initdb", "-D", str(primary.datadir), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
        primary.start()
        # The test database, migrated, copied into the primary.
        name = saved["NAME"]
        primary.sql(f'CREATE DATABASE "{name}"')
        dump = subprocess.run(  # noqa: S603
            [
                str(bindir / "pg_dump"),
                "-h",
                saved["HOST"] or "127.0.0.1",
                "-p",
                str(saved["PORT"] or 5432),
                "-U",
                saved["USER"] or "postgres",
                "--no-owner",
                name,
            ],  # fmt: skip
            check=True,
            capture_output=True,
            timeout=60,
        ).stdout
        primary.run("psql", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres", "-d", name, "-q", "-v", "ON_ERROR_STOP=1", input=dump.decode())  # fmt: skip
        primary.run("pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres", "-D", str(standby.datadir), "-R", "-X", "stream", "-c", "fast")  # fmt: skip
        standby.start()

        default.close()
        default.settings_dict.update(HOST="127.0.0.1", PORT=str(primary.port))
        connections.settings[replica.REPLICA] = {
            **default.settings_dict,
            "PORT": str(standby.port),
            "OPTIONS": {"connect_timeout": 2},
        }
        replica._down_until = 0.0
        # Django's test case refuses connections to aliases it did not know when the test began;
        # the replica's is added here, so the test gets the unguarded method back (the one
        # pytest-django's blocker keeps).
        monkeypatch.setattr(BaseDatabaseWrapper, "ensure_connection", django_db_blocker._real_ensure_connection)
        yield primary, standby
    finally:
        if replica.REPLICA in connections.settings:
            connections[replica.REPLICA].close()
            del connections[replica.REPLICA]
            del connections.settings[replica.REPLICA]
        default.close()
        default.settings_dict.clear()
        default.settings_dict.update(saved)
        replica._down_until = 0.0
        standby.stop()
        primary.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def caught_up(primary: Cluster, standby: Cluster, timeout: float = 20) -> None:
    target = primary.sql("SELECT pg_current_wal_lsn()")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if standby.sql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn") == "t":
            return
        time.sleep(0.1)
    raise AssertionError("the standby did not catch up")


def _world():
    province = Unit.objects.create(code="31", name="UBND thành phố Hải Phòng", kind=Unit.Kind.CITY)
    commune = Unit.objects.create(code="10507", name="Phường Thành Đông", kind=Unit.Kind.WARD, parent=province)
    office_unit = Unit.objects.create(code="VP-UBND", name="Văn phòng", kind=Unit.Kind.DEPARTMENT, parent=province)
    make_official("head-a", commune, head=True)
    leader = make_official("city-leader", province, role=Official.Role.LEADER)
    office = make_official("city-office", office_unit, role=Official.Role.OFFICE)
    plan = Plan.objects.create(province=province, year=2026, name="Kế hoạch 2026")
    group = TaskGroup.objects.create(plan=plan, number=1, title="Nhóm 1")
    task = Task.objects.create(
        group=group, code="2026-01", number=1, title="Giải ngân", description="D", deliverable="Báo cáo",
        acceptance_criteria="Đạt", default_deadline=dt.date(2099, 6, 30), authority=leader,
    )  # fmt: skip
    assignment = make_assignment(
        task, commune, status=Status.SUBMITTED, submitted_at=dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    )
    return leader, office, assignment


def _session(official) -> APIClient:
    client = APIClient()
    client.force_login(official.user)
    return client


def _tables(captured) -> str:
    return " ".join(q["sql"] for q in captured.captured_queries)


def _accepted_on_dashboard(client) -> int:
    classes = {c["value"]: c["n"] for c in client.get("/dashboard/").context["classes"]}
    return classes["completed_on_time"]


def test_reads_go_to_the_replica_a_writer_reads_their_own_change_and_the_site_survives_it(streaming_pair, settings):
    """One pair of clusters for the whole story (making one is most of the test's time)."""
    primary, standby = streaming_pair
    settings.DATABASE_REPLICA_PIN_SECONDS = 30
    leader, office, assignment = _world()
    caught_up(primary, standby)
    reader = _session(office)

    # 1. The dashboard, KPI and exports read the domain from the replica; the primary serves only
    #    the session and the user.
    for path in ("/dashboard/", "/kpi/units/?period=2026-Q2", "/kpi/reports/summary.csv"):
        with (
            CaptureQueriesContext(connections["default"]) as on_primary,
            CaptureQueriesContext(connections[replica.REPLICA]) as on_replica,
        ):
            assert reader.get(path).status_code == 200, path
        assert "tasks_app_assignment" in _tables(on_replica), path
        assert "tasks_app_assignment" not in _tables(on_primary), path
    # Everything else, the API's reads included, stays on the primary.
    with CaptureQueriesContext(connections[replica.REPLICA]) as on_replica:
        assert reader.get("/api/v1/assignments/").status_code == 200
        assert reader.get(f"/assignments/{assignment.pk}/").status_code == 200
    assert on_replica.captured_queries == []

    # 2. The replica lags (its WAL replay paused) while the leader accepts the deliverable.
    assert _accepted_on_dashboard(reader) == 0
    standby.sql("SELECT pg_wal_replay_pause()")
    writer = _session(leader)
    with CaptureQueriesContext(connections[replica.REPLICA]) as on_replica:
        response = writer.post(f"/api/v1/assignments/{assignment.pk}/accept/", {"note": "Đạt"}, format="json")
    assert response.status_code == 201
    assert on_replica.captured_queries == [], "a write read from the replica"
    assert Assignment.objects.get(pk=assignment.pk).status == Status.ACCEPTED
    # The writer reads their change at once (pinned to the primary) ...
    with CaptureQueriesContext(connections[replica.REPLICA]) as on_replica:
        assert _accepted_on_dashboard(writer) == 1
    assert on_replica.captured_queries == []
    # ... while a reader who wrote nothing is served by the lagging replica.
    assert _accepted_on_dashboard(reader) == 0
    standby.sql("SELECT pg_wal_replay_resume()")
    caught_up(primary, standby)
    assert _accepted_on_dashboard(reader) == 1

    # 3. The pin lasts the configured time, then the writer reads from the replica again.
    settings.DATABASE_REPLICA_PIN_SECONDS = 1
    writer.post(f"/api/v1/assignments/{assignment.pk}/progress/", {"percent": 100}, format="json")
    time.sleep(1.2)
    with CaptureQueriesContext(connections[replica.REPLICA]) as on_replica:
        assert _accepted_on_dashboard(writer) == 1
    assert "tasks_app_assignment" in _tables(on_replica)

    # 4. The replica goes down: every replica-served page still answers, from the primary, fast.
    standby.stop()
    started = time.monotonic()
    for path in ("/dashboard/", "/kpi/units/?period=2026-Q2", "/kpi/reports/summary.csv"):
        assert reader.get(path).status_code == 200, path
    assert time.monotonic() - started < 10
    assert _accepted_on_dashboard(reader) == 1
