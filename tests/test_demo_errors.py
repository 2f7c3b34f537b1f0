"""The demo shows the site's own error pages (issue 11): `make demo` runs Procfile.demo's web line,
and a missing page there is the styled Vietnamese 404 with its stylesheet, not Django's debug page
(bare English, 980 px wide on a phone). The test runs that very line, on a free port, with the
demo's embedded SQLite in a fresh directory (migrated as `make demo` does)."""

import os
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def _web_line() -> tuple[dict[str, str], list[str]]:
    """The environment and the command of Procfile.demo's `web:` process."""
    for line in (ROOT / "Procfile.demo").read_text().splitlines():
        if line.startswith("web:"):
            words = shlex.split(line[len("web:") :])
            env = {}
            while words and "=" in words[0] and not words[0].startswith("-"):
                name, value = words.pop(0).split("=", 1)
                env[name] = value
            return env, words
    raise AssertionError("Procfile.demo has no web process")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def demo_web(tmp_path):
    env_extra, command = _web_line()
    assert env_extra.get("DEMO") == "true", env_extra
    port = _free_port()
    assert command[:3] == ["python", "manage.py", "runserver"], command
    command = [sys.executable, *command[1:]]
    command = [f"127.0.0.1:{port}" if c.startswith("127.0.0.1:") else c for c in command]
    # The demo's environment: only what `make demo` gives it (no DEBUG, no DATABASE_URL, no REDIS_URL).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_", "DEBUG"))}
    env.update(env_extra, VAR_DIR=str(tmp_path), PYTHONUNBUFFERED="1")
    subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True, timeout=300
    )
    log = open(tmp_path / "web.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                requests.get(base + "/static/web/app.css", timeout=1)
                break
            except requests.ConnectionError:
                if process.poll() is not None:
                    raise AssertionError((tmp_path / "web.log").read_text()) from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def test_the_demo_answers_a_missing_page_with_the_styled_vietnamese_404(demo_web):
    response = requests.get(demo_web + "/khong-co-trang-nay/", headers={"Accept-Language": "vi"}, timeout=10)
    assert response.status_code == 404
    page = response.text
    assert "Không tìm thấy trang" in page, page[:500]
    assert 'name="viewport"' in page and 'href="/static/web/app.css"' in page
    # Not Django's debug page.
    assert "Using the URLconf" not in page and "DEBUG = True" not in page and "Page not found" not in page
    # Its stylesheet is served (whitenoise), so the page is the styled one.
    css = requests.get(demo_web + "/static/web/app.css", timeout=10)
    assert css.status_code == 200 and "text/css" in css.headers["Content-Type"]
    # A page of the site that exists still answers (the demo works with DEBUG off).
    login = requests.get(demo_web + "/account/login/", timeout=10)
    assert login.status_code == 200 and 'lang="vi"' in login.text
