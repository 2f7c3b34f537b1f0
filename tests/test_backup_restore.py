"""deploy/backup.sh and deploy/restore.sh for real: pg_dump, pg_restore and the uploaded files."""

import os
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from tasks_app.models import Assignment, Evidence, ProgressReport
from tests.conftest import make_assignment

DEPLOY = Path(settings.BASE_DIR) / "deploy"
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def url_of(name: str) -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{name}"


def run(script: str, *args, env: dict, check=False):
    result = subprocess.run(
        ["bash", str(DEPLOY / script), *map(str, args)],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def query(url: str, sql: str):
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else None


@pytest.fixture
def scratch_database():
    """An empty database to restore into, dropped afterwards."""
    name = f"{connection.settings_dict['NAME']}_restore"
    admin = url_of("postgres")
    query(admin, f'DROP DATABASE IF EXISTS "{name}"')
    query(admin, f'CREATE DATABASE "{name}"')
    yield url_of(name)
    query(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def site(task, head_a, head_b, tmp_path):
    """Assignments, a progress report with an uploaded file, and the media directory holding it."""
    media = tmp_path / "uploads"
    (media / "evidence" / "2026" / "06").mkdir(parents=True)
    content = b"%PDF-1.4 bao cao giai ngan\n" + bytes(range(256))
    (media / "evidence" / "2026" / "06" / "báo-cáo.pdf").write_bytes(content)
    a = make_assignment(task, head_a.unit)
    make_assignment(task, head_b.unit)
    report = ProgressReport.objects.create(assignment=a, author=head_a, status=a.status, percent=40, note="Đạt 40%")
    Evidence.objects.create(report=report, file="evidence/2026/06/báo-cáo.pdf", original_name="báo-cáo.pdf")
    return {"media": media, "content": content, "assignment": a}


def test_backup_then_restore_into_an_empty_database_gives_back_rows_and_files(site, scratch_database, tmp_path):
    env = {"DATABASE_URL": url_of(connection.settings_dict["NAME"]), "MEDIA_ROOT": str(site["media"])}
    backup = Path(run("backup.sh", tmp_path / "backups", env=env, check=True).stdout.strip().splitlines()[-1])

    assert sorted(p.name for p in backup.iterdir()) == ["MANIFEST", "SHA256SUMS", "database.dump", "uploads.tar"]
    assert "files=1" in (backup / "MANIFEST").read_text()
    # The restore target already holds an unrelated file: it is set aside, not mixed in.
    target_media = tmp_path / "restored-uploads"
    target_media.mkdir()
    (target_media / "stale.txt").write_text("cũ")

    result = run("restore.sh", backup, "--yes", env={"DATABASE_URL": scratch_database, "MEDIA_ROOT": str(target_media)})

    assert result.returncode == 0, result.stderr
    table = Assignment._meta.db_table
    assert query(scratch_database, f"SELECT count(*) FROM {table}") == [(2,)]  # noqa: S608
    assert query(scratch_database, f"SELECT progress, status FROM {table} WHERE id = {site['assignment'].pk}") == [  # noqa: S608
        (0, "issued")
    ]
    assert query(scratch_database, f"SELECT note FROM {ProgressReport._meta.db_table}") == [("Đạt 40%",)]  # noqa: S608
    assert (target_media / "evidence" / "2026" / "06" / "báo-cáo.pdf").read_bytes() == site["content"]
    assert not (target_media / "stale.txt").exists()
    (previous,) = tmp_path.glob("restored-uploads.before-restore-*")
    assert (previous / "stale.txt").read_text() == "cũ"
    assert not list(tmp_path.glob("restored-uploads.incoming.*"))


def test_a_damaged_backup_is_refused_and_nothing_changes(site, scratch_database, tmp_path):
    env = {"DATABASE_URL": url_of(connection.settings_dict["NAME"]), "MEDIA_ROOT": str(site["media"])}
    backup = Path(run("backup.sh", tmp_path / "backups", env=env, check=True).stdout.strip().splitlines()[-1])
    damaged = tmp_path / "damaged"
    shutil.copytree(backup, damaged)
    dump = bytearray((damaged / "database.dump").read_bytes())
    dump[len(dump) // 2] ^= 0xFF
    (damaged / "database.dump").write_bytes(bytes(dump))
    query(scratch_database, "CREATE TABLE marker (note text); INSERT INTO marker VALUES ('còn nguyên')")
    target_media = tmp_path / "target"
    target_media.mkdir()
    (target_media / "keep.txt").write_text("giữ")

    result = run(
        "restore.sh", damaged, "--yes", env={"DATABASE_URL": scratch_database, "MEDIA_ROOT": str(target_media)}
    )

    assert result.returncode != 0
    assert "checksum mismatch" in result.stderr
    assert query(scratch_database, "SELECT note FROM marker") == [("còn nguyên",)]
    assert sorted(p.name for p in target_media.iterdir()) == ["keep.txt"]
    assert not list(tmp_path.glob("target.*"))


def test_restore_without_yes_changes_nothing(site, scratch_database, tmp_path):
    env = {"DATABASE_URL": url_of(connection.settings_dict["NAME"]), "MEDIA_ROOT": str(site["media"])}
    backup = run("backup.sh", tmp_path / "backups", env=env, check=True).stdout.strip().splitlines()[-1]
    target_media = tmp_path / "target"

    result = run("restore.sh", backup, env={"DATABASE_URL": scratch_database, "MEDIA_ROOT": str(target_media)})

    assert result.returncode != 0
    assert "--yes" in result.stderr
    assert query(scratch_database, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == [(0,)]
    assert not target_media.exists()


def test_backup_keeps_only_the_newest_when_asked(site, tmp_path):
    env = {
        "DATABASE_URL": url_of(connection.settings_dict["NAME"]),
        "MEDIA_ROOT": str(site["media"]),
        "BACKUP_KEEP": "1",
    }
    old = tmp_path / "backups" / "accountability-20200101T000000Z"
    old.mkdir(parents=True)

    newest = run("backup.sh", tmp_path / "backups", env=env, check=True).stdout.strip().splitlines()[-1]

    assert [str(p) for p in (tmp_path / "backups").iterdir()] == [newest]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "DATABASE_URL must be set"),
        ({"DATABASE_URL": "sqlite:///x.db", "MEDIA_ROOT": "/tmp"}, "postgres:// URL"),  # noqa: S108
        ({"DATABASE_URL": "postgres://x@127.0.0.1/y"}, "MEDIA_ROOT must be set"),
        ({"DATABASE_URL": "postgres://x@127.0.0.1/y", "MEDIA_ROOT": "/nonexistent/uploads"}, "not a directory"),
    ],
)
def test_backup_refuses_a_bad_configuration_with_a_clear_message(env, message, tmp_path):
    result = run("backup.sh", tmp_path / "backups", env=env)

    assert result.returncode != 0
    assert message in result.stderr
    assert not (tmp_path / "backups").exists()
