"""Real services on loopback for the reminder tests: an SMTP server (aiosmtpd) and an HTTP server
standing in for Zalo, both on ports the OS picks; plus a Celery worker process and a private Redis."""

from __future__ import annotations

import asyncio
import email
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from email import policy as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from tasks_app.reminders.models import ReminderPolicy
from tests import services

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=30.0, interval=0.1, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class _Handler:
    def __init__(self, box: SmtpServer):
        self.box = box

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.box.rcpt_seen.set()
        while self.box.hold.is_set():  # a test holds the sender here, mid-send, to kill it
            await asyncio.sleep(0.05)
        if self.box.refuse:
            return "451 4.3.0 Temporary failure, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.box.delay:
            await asyncio.sleep(self.box.delay)
        message = email.message_from_bytes(envelope.content, policy=email_policy.default)
        with self.box.lock:
            self.box.messages.append((list(envelope.rcpt_tos), message))
        if self.box.on_accept is not None:  # a fault injected between acceptance and the answer
            await asyncio.get_running_loop().run_in_executor(None, self.box.on_accept, message)
        if self.box.stall:  # the message is taken, the answer comes after the client's timeout
            await asyncio.sleep(self.box.stall)
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd on 127.0.0.1; `refuse` answers 451, `hold` blocks at RCPT, `stop()`/`start()` take it down."""

    def __init__(self):
        self.port = free_port()
        self.messages: list = []
        self.lock = threading.Lock()
        self.refuse = False
        self.delay = 0.0
        self.stall = 0.0
        self.on_accept = None
        self.hold = threading.Event()
        self.rcpt_seen = threading.Event()
        self.controller = None

    def start(self):
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list:
        with self.lock:
            return [m for rcpts, m in self.messages if address in rcpts]


@pytest.fixture
def smtp_server(settings):
    server = SmtpServer()
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 5
    yield server
    server.hold.clear()
    server.stop()


class ZaloServer:
    """A stand-in for Zalo's OA, ZNS and OAuth endpoints. `modes` is a queue of answers for the
    message endpoints (ok, error, 500, timeout, expired); when empty it answers ok."""

    def __init__(self):
        self.requests: list[dict] = []
        self.modes: list[str] = []
        self.valid_tokens = {"oa-token"}
        self.refresh_calls = 0
        self.refresh_delay = 0.0
        self.refresh_tokens_seen: list[str] = []
        self.lock = threading.Lock()
        box = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status, body):
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == "/v4/oa/access_token":
                    spent = dict(item.split("=", 1) for item in raw.decode().split("&") if "=" in item)
                    time.sleep(box.refresh_delay)  # a slow OAuth server: two refreshes overlap
                    with box.lock:
                        token = spent.get("refresh_token", "")
                        box.refresh_tokens_seen.append(token)
                        if box.refresh_tokens_seen.count(token) > 1:  # single-use, like Zalo's
                            return self._answer(200, {"error": -14014, "message": "Invalid refresh token"})
                        box.refresh_calls += 1
                        box.valid_tokens = {f"oa-token-{box.refresh_calls}"}
                    return self._answer(
                        200,
                        {
                            "access_token": f"oa-token-{box.refresh_calls}",
                            "refresh_token": f"refresh-{box.refresh_calls}",
                            "expires_in": "90000",
                        },
                    )
                body = json.loads(raw or b"{}")
                token = self.headers.get("access_token")
                with box.lock:
                    mode = box.modes.pop(0) if box.modes else "ok"
                    box.requests.append({"path": self.path, "token": token, "body": body, "mode": mode})
                if mode == "timeout":
                    time.sleep(2.5)
                    return self._answer(200, {"error": 0, "data": {"message_id": "late"}})
                if mode.startswith("late:"):  # accepted, answered after the given seconds
                    time.sleep(float(mode[5:]))
                    n = len(box.requests)
                    return self._answer(200, {"error": 0, "data": {"message_id": f"m{n}", "msg_id": f"z{n}"}})
                if mode == "500":
                    return self._answer(500, {"message": "internal error"})
                if mode == "error":
                    return self._answer(200, {"error": -32, "message": "Rate limit exceeded"})
                if token not in box.valid_tokens:
                    return self._answer(200, {"error": -216, "message": "Access token is invalid"})
                n = len(box.requests)
                return self._answer(
                    200, {"error": 0, "message": "Success", "data": {"message_id": f"m{n}", "msg_id": f"z{n}"}}
                )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def delivered(self, path_end: str) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["path"].endswith(path_end) and r["mode"] == "ok"]

    def accepted(self, path_end: str) -> list[dict]:
        """Requests Zalo accepted, answered in time or late (what its user receives)."""
        with self.lock:
            return [
                r
                for r in self.requests
                if r["path"].endswith(path_end) and (r["mode"] in ("ok", "timeout") or r["mode"].startswith("late:"))
            ]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def zalo_server(settings):
    server = ZaloServer()
    settings.ZALO_API_BASE = server.url
    settings.ZALO_ZNS_BASE = server.url
    settings.ZALO_OAUTH_BASE = server.url
    settings.ZALO_OA_ACCESS_TOKEN = "oa-token"
    settings.ZALO_OA_REFRESH_TOKEN = "refresh-0"
    settings.ZALO_APP_ID = "app-1"
    settings.ZALO_APP_SECRET = "app-secret"
    settings.ZALO_ZNS_TEMPLATE_ID = "tpl-1"
    settings.ZALO_TIMEOUT = 1
    settings.ZALO_ANSWER_TIMEOUT = 1
    yield server
    server.close()


@pytest.fixture
def always_open_policy(db):
    """Sending allowed at any hour: the worker tests run at whatever time the suite runs."""
    return ReminderPolicy.objects.create(send_hour=0, send_until_hour=24, channels=["email"])


class Worker:
    """A real `celery -A accountability worker` process in its own process group."""

    def __init__(self, env: dict):
        self.env = env
        self.proc = None
        self.log = tempfile.NamedTemporaryFile(prefix="celery-worker-", suffix=".log", delete=False)

    def start(self):
        celery = shutil.which("celery", path=str(Path(sys.executable).parent)) or "celery"
        self.proc = subprocess.Popen(
            [
                celery,
                "-A",
                "accountability",
                "worker",
                "-P",
                "solo",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"the Celery worker exited:\n{self.output()[-3000:]}")
            return b"ready." in Path(self.log.name).read_bytes()

        wait_for(ready, timeout=60, what="the Celery worker")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")


def worker_env(broker_url: str, smtp: SmtpServer, extra: dict | None = None) -> dict:
    from django.db import connection

    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_SETTINGS"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "accountability.settings",
            # The worker works on the test database the test process writes to.
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "DB_CONN_MAX_AGE": "0",
            "REDIS_URL": broker_url,
            "DEBUG": "true",
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp.port),
            "EMAIL_TIMEOUT": "30",
            "REMINDER_CLAIM_TIMEOUT": "3",
            "REMINDER_RETRY_BASE_SECONDS": "1",
            "REMINDER_RETRY_MAX_SECONDS": "2",
            "VAR_DIR": tempfile.mkdtemp(prefix="worker-var-"),
        }
    )
    env.update(extra or {})
    return env


class PrivateRedis:
    """A redis-server of our own on a free port, so a test may restart it without disturbing others."""

    def __init__(self):
        self.port = free_port()
        self.proc = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        binary = shutil.which("redis-server")
        if binary is None:
            services.missing("redis-server", "install the redis-server package")
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--maxmemory-policy",
                "noeviction",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: services._answers("127.0.0.1", self.port), timeout=10, what="redis-server")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


class PostgresProxy:
    """A TCP proxy on loopback in front of the test's PostgreSQL server, for a worker to connect
    through. `outage(seconds)` resets every open connection and refuses new ones for that long:
    what a worker sees of a PostgreSQL restart, without restarting the server others share."""

    def __init__(self, host: str, port: int):
        self.upstream = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.down_until = 0.0
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.outages = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if time.monotonic() < self.down_until:
                client.close()  # the server is "restarting": connection refused
                continue
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def outage(self, seconds: float):
        self.outages += 1
        self.down_until = time.monotonic() + seconds
        with self.lock:
            sockets, self.sockets = self.sockets, []
        for s in sockets:
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        self.listener.close()
        self.outage(0)


def expand_all() -> int:
    """What each sender does first (issue 14): expand every pending digest the sweep recorded into
    per-assignment ledger rows; the rows written. Tests that read the ledger after a sweep go
    through it, as the real flow does."""
    from tasks_app.reminders.models import DueDigest
    from tasks_app.reminders.sweep import expand

    pairs = DueDigest.objects.filter(status=DueDigest.Status.PENDING).values_list("recipient_id", "channel")
    return sum(expand(recipient_id, channel) for recipient_id, channel in sorted(set(pairs)))
