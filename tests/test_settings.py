"""Settings come from the environment through typed helpers that fail loudly."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from accountability.env import env_bool, env_int, env_list, env_str

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("1", True), ("ON", True), ("no", False), ("0", False)])
def test_env_bool_reads_common_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("X_FLAG", raw)
    assert env_bool("X_FLAG") is expected


@pytest.mark.parametrize("raw", ["maybe", "tru", "2"])
def test_env_bool_refuses_nonsense(monkeypatch, raw):
    monkeypatch.setenv("X_FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match="X_FLAG"):
        env_bool("X_FLAG")


def test_env_int_bounds_and_garbage(monkeypatch):
    monkeypatch.setenv("X_PORT", "70000")
    with pytest.raises(ImproperlyConfigured, match="maximum"):
        env_int("X_PORT", 25, maximum=65535)
    monkeypatch.setenv("X_PORT", "twenty")
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env_int("X_PORT", 25)
    monkeypatch.setenv("X_PORT", "587")
    assert env_int("X_PORT", 25) == 587


def test_env_list_and_file_secret(monkeypatch, tmp_path):
    monkeypatch.setenv("X_HOSTS", " a.vn, b.vn ,,")
    assert env_list("X_HOSTS") == ["a.vn", "b.vn"]
    secret = tmp_path / "secret"
    secret.write_text("s3cr3t\n")
    monkeypatch.setenv("X_SECRET_FILE", str(secret))
    assert env_str("X_SECRET") == "s3cr3t"
    monkeypatch.setenv("X_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="X_SECRET_FILE"):
        env_str("X_SECRET")


def _django_check(**env):
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "ALLOWED_HOSTS", "DEBUG", "DATABASE_URL"}}
    clean.update(env)
    clean["DJANGO_SETTINGS_MODULE"] = "accountability.settings"
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])",
        ],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_embedded_default_needs_no_variable(tmp_path):
    result = _django_check(VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "sqlite3" in result.stdout


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "false", "ALLOWED_HOSTS": "tracker.example.vn"}, "SECRET_KEY must be set"),
        ({"DEBUG": "false", "SECRET_KEY": "x" * 50}, "ALLOWED_HOSTS must list"),
        ({"DEBUG": "perhaps"}, "DEBUG='perhaps' is not a boolean"),
        ({"EMAIL_PORT": "smtp"}, "EMAIL_PORT='smtp' is not an integer"),
        ({"DATABASE_URL": "nonsense://x"}, "DATABASE_URL"),
    ],
)
def test_bad_configuration_stops_start_up_with_a_clear_message(env, message, tmp_path):
    result = _django_check(VAR_DIR=str(tmp_path), **env)
    assert result.returncode != 0
    assert message in result.stderr
