"""Running the files of deploy/ on loopback: the nginx site rendered with free ports and a
self-signed certificate, gunicorn with deploy/gunicorn.conf.py, Celery worker and beat.

Used by the deployment tests and by the benchmarks in bench/. Every process is started in its own
process group and stopped with TERM (then KILL after a grace period) by the Stack that started it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
NGINX_TEMPLATE = DEPLOY / "nginx" / "accountability.conf.template"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
TEMPLATE_NAMES = (
    "SERVER_NAME",
    "UPSTREAM",
    "STATIC_ROOT",
    "TLS_CERTIFICATE",
    "TLS_CERTIFICATE_KEY",
    "HTTP_PORT",
    "HTTPS_PORT",
    "CLIENT_MAX_BODY_SIZE",
)


def free_port() -> int:
    """A port the OS says is free now (bind to port 0), for servers that cannot bind 0 themselves."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def render_nginx_site(values: dict[str, str]) -> str:
    """Fill in the template's ${NAMES} as envsubst does, leaving nginx's own $variables alone."""
    missing = set(TEMPLATE_NAMES) - set(values)
    if missing:
        raise ValueError(f"missing template values: {sorted(missing)}")
    text = NGINX_TEMPLATE.read_text(encoding="utf-8")
    return re.sub(r"\$\{([A-Z_]+)\}", lambda m: values.get(m.group(1), m.group(0)), text)


def nginx_main_conf(workdir: Path, site: Path) -> str:
    """A main nginx.conf that keeps everything (pid, logs, temp files) inside workdir."""
    temp = "\n".join(
        f"    {kind}_temp_path {workdir / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # Run as root, nginx's workers would drop to `nobody`, which cannot read pytest's private tmp
    # directories. (In production STATIC_ROOT must be readable by www-data; see the README.)
    user = "user root;" if os.geteuid() == 0 else ""
    return f"""
{user}
worker_processes 1;
pid {workdir / "nginx.pid"};
error_log {workdir / "nginx-error.log"} warn;
daemon off;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {workdir / "nginx-access.log"};
    sendfile on;
{temp}
    include {site};
}}
"""


def self_signed_certificate(workdir: Path) -> tuple[Path, Path]:
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def write_nginx(
    workdir: Path,
    *,
    upstream: str,
    static_root: Path,
    http_port: int,
    https_port: int,
    client_max_body_size: str = "210m",
) -> Path:
    """Render the site and a main config into workdir; returns the main config's path."""
    cert, key = self_signed_certificate(workdir)
    site = workdir / "site.conf"
    site.write_text(
        render_nginx_site(
            {
                "SERVER_NAME": "127.0.0.1 localhost",
                "UPSTREAM": upstream,
                "STATIC_ROOT": str(static_root),
                "TLS_CERTIFICATE": str(cert),
                "TLS_CERTIFICATE_KEY": str(key),
                "HTTP_PORT": f"127.0.0.1:{http_port}",
                "HTTPS_PORT": f"127.0.0.1:{https_port}",
                "CLIENT_MAX_BODY_SIZE": client_max_body_size,
            }
        ).replace("listen [::]:127.0.0.1:", "# no IPv6 on loopback tests: ")
    )
    main = workdir / "nginx.conf"
    main.write_text(nginx_main_conf(workdir, site))
    return main


def wait_for_port(port: int, *, process: subprocess.Popen | None = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


class Stack:
    """Processes started for one test or benchmark, stopped together (in reverse order)."""

    def __init__(self, workdir: Path, env: dict[str, str]):
        self.workdir = workdir
        self.env = env
        self.processes: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "wb")  # noqa: SIM115  (closed in stop())
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**self.env, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() reaches the children too
        )
        process._log = log  # type: ignore[attr-defined]
        self.processes.append((name, process))
        return process

    def gunicorn(self, port: int, *, workers: int = 2, wsgi: str = "accountability.wsgi") -> subprocess.Popen:
        bin_dir = Path(sys.executable).parent
        process = self.start(
            f"gunicorn-{port}",
            [str(bin_dir / "gunicorn"), "-c", str(DEPLOY / "gunicorn.conf.py"), wsgi],
            env={"GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": str(workers)},
        )
        wait_for_port(port, process=process)
        return process

    def nginx(self, conf: Path, port: int) -> subprocess.Popen:
        if NGINX is None:
            raise RuntimeError("nginx is not installed")
        process = self.start("nginx", [NGINX, "-c", str(conf), "-e", str(self.workdir / "nginx-error.log")])
        wait_for_port(port, process=process)
        return process

    def celery(self, *args: str, name: str) -> subprocess.Popen:
        bin_dir = Path(sys.executable).parent
        return self.start(name, [str(bin_dir / "celery"), "-A", "accountability", *args])

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, grace: float = 20) -> dict[str, int]:
        """TERM every process group, wait, KILL what is left; returns each exit code."""
        codes: dict[str, int] = {}
        for name, process in reversed(self.processes):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            codes[name] = process.returncode
            process._log.close()  # type: ignore[attr-defined]
        self.processes.clear()
        return codes
