"""Production settings and the files of deploy/: what can be checked without starting the stack."""

import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests import loopback_stack, services

ROOT = loopback_stack.ROOT
DEPLOY = loopback_stack.DEPLOY
ENV_EXAMPLE = DEPLOY / ".env.example"


def manage(*args, env: dict[str, str], tmp_path: Path):
    """Run manage.py in a clean environment: only what the test gives, as a real host would."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "VAR_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def production_env(**overrides) -> dict[str, str]:
    env = {"DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "nhiemvu.example.org"}
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def example_values() -> dict[str, str]:
    """The uncommented NAME=value lines of deploy/.env.example."""
    values = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    return values


def documented_names() -> set[str]:
    """Every NAME= in deploy/.env.example, set or shown commented out with its default."""
    return set(re.findall(r"^#?([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE.read_text(encoding="utf-8"), re.MULTILINE))


def names_read_by_the_project() -> set[str]:
    names = set()
    for path in (ROOT / "accountability").glob("*.py"):
        names |= set(re.findall(r"env_(?:str|bool|int|list)\(\s*\"([A-Z][A-Z0-9_]+)\"", path.read_text()))
    gunicorn = (DEPLOY / "gunicorn.conf.py").read_text()
    names |= set(re.findall(r"(?:_int|environ\.get)\(\"([A-Z][A-Z0-9_]+)\"", gunicorn))
    names |= set(re.findall(r"\$\{([A-Z_]+):\?", (DEPLOY / "compose.yaml").read_text()))
    names |= set(re.findall(r"\$\{([A-Z_]+):-", (DEPLOY / "backup.sh").read_text()))
    return names


# --- production settings ----------------------------------------------------------------------


def test_check_deploy_reports_nothing_with_the_documented_variables(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env(), tmp_path=tmp_path)

    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_check_deploy_is_clean_with_the_example_file_itself(tmp_path):
    """deploy/.env.example as written (with a real secret) is a valid production configuration."""
    env = example_values()
    env["SECRET_KEY"] = secrets.token_urlsafe(50)
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env, tmp_path=tmp_path)

    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_a_site_that_opts_out_of_hsts_preload_is_still_clean(tmp_path):
    env = production_env(SECURE_HSTS_PRELOAD="false")
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env, tmp_path=tmp_path)

    assert result.returncode == 0, result.stderr + result.stdout


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("SECRET_KEY", "SECRET_KEY must be set when DEBUG is off"),
        ("ALLOWED_HOSTS", "ALLOWED_HOSTS must list the site's host names when DEBUG is off"),
    ],
)
def test_production_refuses_to_start_without(missing, message, tmp_path):
    result = manage("check", env=production_env(**{missing: None}), tmp_path=tmp_path)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_an_empty_allowed_hosts_is_as_bad_as_none(tmp_path):
    result = manage("check", env=production_env(ALLOWED_HOSTS=" , "), tmp_path=tmp_path)

    assert result.returncode != 0
    assert "ALLOWED_HOSTS must list" in result.stderr


def test_the_secret_key_can_come_from_a_file(tmp_path):
    secret = tmp_path / "secret_key"
    secret.write_text(secrets.token_urlsafe(50) + "\n")
    env = production_env(SECRET_KEY=None, SECRET_KEY_FILE=str(secret))

    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env, tmp_path=tmp_path)

    assert result.returncode == 0, result.stderr


def test_a_typo_in_a_boolean_stops_start_up_naming_the_variable(tmp_path):
    result = manage("check", env=production_env(SECURE_SSL_REDIRECT="ture"), tmp_path=tmp_path)

    assert result.returncode != 0
    assert "SECURE_SSL_REDIRECT='ture' is not a boolean" in result.stderr


# --- deploy/ files ---------------------------------------------------------------------------


def test_env_example_documents_every_setting_and_nothing_else():
    read = names_read_by_the_project()
    documented = documented_names()

    assert read - documented == set(), "settings missing from deploy/.env.example"
    assert documented - read == set(), "deploy/.env.example documents settings nothing reads"


def test_compose_file_has_the_whole_stack_with_one_beat():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services_ = compose["services"]

    assert {"web", "worker", "beat", "postgres", "redis", "nginx"} <= set(services_)
    assert services_["beat"]["deploy"]["replicas"] == 1
    assert "beat" in services_["beat"]["command"]
    assert [name for name, s in services_.items() if "ports" in s] == ["nginx"]
    for name in ("web", "worker", "beat"):
        assert services_[name]["depends_on"]["release"]["condition"] == "service_completed_successfully"
        assert services_[name]["environment"]["DATABASE_URL"].startswith("postgres://")
    assert "noeviction" in services_["redis"]["command"]
    # The template the nginx image renders is the same file the one-host install and the tests use.
    template = next(v for v in services_["nginx"]["volumes"] if "templates" in v)
    assert (DEPLOY / template.split(":")[0]).resolve() == loopback_stack.NGINX_TEMPLATE
    assert set(services_["nginx"]["environment"]) >= set(loopback_stack.TEMPLATE_NAMES)
    assert (DEPLOY / "Dockerfile").exists()


def test_systemd_units_verify_and_only_beat_runs_beat(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        services.missing("systemd-analyze", "install systemd to verify the units")
    units = sorted((DEPLOY / "systemd").iterdir())
    for unit in units:  # verify against this checkout: the paths must point at real files
        (tmp_path / unit.name).write_text(unit.read_text().replace("/srv/accountability/app", str(ROOT)))

    result = subprocess.run(
        [analyze, "verify", "--man=no", *[str(tmp_path / u.name) for u in units]],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    starts_beat = [u.name for u in units if re.search(r"^ExecStart=.*celery -A accountability beat", _joined(u), re.M)]
    assert starts_beat == ["accountability-beat.service"]
    web = (DEPLOY / "systemd" / "accountability-web.service").read_text()
    assert "deploy/gunicorn.conf.py accountability.wsgi" in web


def _joined(unit: Path) -> str:
    """A unit's text with backslash-continued lines joined, as systemd reads them."""
    return unit.read_text().replace("\\\n", " ")


def test_gunicorn_accepts_its_configuration(tmp_path):
    result = subprocess.run(
        [str(Path(sys.executable).parent / "gunicorn"), "--check-config", "-c", str(DEPLOY / "gunicorn.conf.py")]
        + ["accountability.wsgi"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "VAR_DIR": str(tmp_path), **production_env(GUNICORN_WORKERS="3")},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr


def test_gunicorn_refuses_a_bad_number(tmp_path):
    result = subprocess.run(
        [str(Path(sys.executable).parent / "gunicorn"), "--check-config", "-c", str(DEPLOY / "gunicorn.conf.py")]
        + ["accountability.wsgi"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "VAR_DIR": str(tmp_path), "GUNICORN_WORKERS": "many"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "GUNICORN_WORKERS='many' is not an integer" in result.stderr + result.stdout


def test_nginx_accepts_the_rendered_site(tmp_path):
    if loopback_stack.NGINX is None:
        services.missing("nginx", "apt-get install -y nginx")
    conf = loopback_stack.write_nginx(
        tmp_path, upstream="127.0.0.1:8000", static_root=tmp_path / "static", http_port=8080, https_port=8443
    )

    result = subprocess.run(
        [loopback_stack.NGINX, "-t", "-c", str(conf), "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    site = (tmp_path / "site.conf").read_text()
    assert "${" not in site.split("upstream", 1)[1], "a template name was left unfilled"
    assert "$remote_addr" in site and "$http_host" in site  # nginx's own variables survive


def test_rendering_refuses_a_missing_value():
    with pytest.raises(ValueError, match="UPSTREAM"):
        loopback_stack.render_nginx_site({n: "x" for n in loopback_stack.TEMPLATE_NAMES if n != "UPSTREAM"})
