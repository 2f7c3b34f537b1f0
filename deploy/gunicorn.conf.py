"""gunicorn settings for the accountability tracker, behind nginx.

    gunicorn -c deploy/gunicorn.conf.py accountability.wsgi

Every value can be changed from the environment (the same file the Django settings read, see
deploy/.env.example), so systemd, compose and the deployment test share this one file.
"""

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        return int(raw) if raw else default
    except ValueError as exc:
        raise SystemExit(f"{name}={raw!r} is not an integer") from exc


# nginx talks to gunicorn on loopback (one host) or on the private network (compose, scale-out).
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")
# Sync workers: the views are short database-bound requests; 2 × cores + 1 keeps the CPUs busy
# while some workers wait on PostgreSQL. Slow clients are nginx's problem, not gunicorn's: nginx
# buffers whole requests and responses, so a phone on a slow link never holds a worker.
workers = _int("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1)
threads = _int("GUNICORN_THREADS", 1)
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = 5
# Recycle workers now and then so a slow leak in any library never grows without bound.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = max_requests // 10
# Each worker imports the project itself (no preload), so `systemctl reload` (HUP) starts workers
# on the new code after an upgrade and retires the old ones without dropping a request. Broken
# settings still stop start-up: the workers fail to boot and gunicorn exits.
preload_app = False
# Heartbeat files in memory, not on a possibly slow disk (a docker overlay, a busy VM disk).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108

# Trust X-Forwarded-Proto/For only from the proxy in front (nginx on the same host by default).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Headers bigger than this are refused with 400 before Django sees them (nginx's are the same).
limit_request_line = 8190
limit_request_field_size = 8190

accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# The time taken (%(M)s ms) and the real client address from nginx.
access_log_format = '%({x-forwarded-for}i)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
proc_name = "accountability"
