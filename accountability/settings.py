"""Settings for the accountability tracker, read from the environment.

With no variable set the project runs on the embedded defaults (SQLite and a
filesystem Celery broker) in DEBUG mode, so `make demo` needs nothing installed.
Production sets DEBUG=false, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL and REDIS_URL.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from kombu import Queue

from accountability.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
# The embedded mode keeps SQLite, the broker's queue and beat's schedule here.
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", True)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (or SECRET_KEY_FILE).")
    # Only for DEBUG on a developer machine; never used in production (see above).
    SECRET_KEY = "insecure-dev-key-only-for-debug-" + "x" * 32  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must list the site's host names when DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "simple_history",
    # Web UI: htmx served from the package (no CDN), login lockout, two-factor sign-in.
    "django_htmx",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_static",
    "django_otp.plugins.otp_totp",
    "two_factor",
    # API keys (our key model is tasks_api.ApiKey), the OpenAPI schema and its offline UI assets.
    "rest_framework_api_key",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "tasks_app",
    # Each concern with models of its own is a sub-app with its own migrations.
    "tasks_app.api",
    "tasks_app.reminders",
    "tasks_app.kpi",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before sessions and views: malformed paths and query values never reach a query.
    "tasks_app.web.middleware.refuse_malformed_input",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # An unchanged API assignment list for a key verified moments ago: 304 here, before the rest.
    "tasks_app.api.conditional.answer_unchanged_lists",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A request that writes pins its author to the primary (read-your-writes with a replica).
    "tasks_app.replica.pin_writers",
    "django_otp.middleware.OTPMiddleware",
    # Requests under /api/ and /feeds/ proving no identity, counted per client address (429 past the rate).
    "tasks_app.api.throttling.throttle_unauthenticated",
    "django.contrib.messages.middleware.MessageMiddleware",
    "tasks_app.web.middleware.end_idle_sessions",
    "tasks_app.web.middleware.require_two_factor_for_authority",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "accountability.urls"
WSGI_APPLICATION = "accountability.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tasks_app.web.queues.inbox_count",
            ],
        },
    },
]

# Database: DATABASE_URL (PostgreSQL in production), SQLite in var/ otherwise.
_database_url = env_str("DATABASE_URL")
if _database_url:
    try:
        DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from exc
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "db.sqlite3"),
            # SQLite waits for the writer instead of failing at once when the web and the
            # worker of `make demo` write at the same moment.
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
# Reads scaled out (tasks_app/replica.py): with DATABASE_REPLICA_URL, a PostgreSQL streaming
# replica serves the dashboards, KPI, reports and exports; writes and everything else stay on the
# primary. After a write its author reads from the primary for DATABASE_REPLICA_PIN_SECONDS.
_replica_url = env_str("DATABASE_REPLICA_URL")
if _replica_url:
    try:
        _replica = dj_database_url.parse(
            _replica_url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
        )
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_REPLICA_URL is not a database URL: {exc}") from exc
    # A replica that does not answer is given up on fast; the view then reads from the primary.
    _replica["OPTIONS"] = {**_replica.get("OPTIONS", {}), "connect_timeout": 2}
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES["replica"] = _replica
DATABASE_ROUTERS = ["tasks_app.replica.ReplicaRouter"]
DATABASE_REPLICA_PIN_SECONDS = env_int("DATABASE_REPLICA_PIN_SECONDS", 30, minimum=0)
DATABASE_REPLICA_RETRY_SECONDS = env_int("DATABASE_REPLICA_RETRY_SECONDS", 30, minimum=1)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Tiếng Việt")), ("en", _("English"))]
# The second holds hand-written Vietnamese for DRF's own untranslated messages and the few of Django's
# that DRF's fields pass on untranslated (not makemessages'; tests/test_api_language.py).
LOCALE_PATHS = [
    BASE_DIR / "tasks_app" / "locale",
    BASE_DIR / "accountability" / "drf_vi" / "locale",
    # django-two-factor-auth in the administrative register (its own catalogue says "quý khách").
    BASE_DIR / "accountability" / "vendor_vi" / "locale",
]
FORMAT_MODULE_PATH = ["accountability.formats"]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
# Uploaded evidence lives outside the web root and is served only through views that check access.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "uploads")))
MEDIA_URL = "/uploads/"

LOGIN_URL = "two_factor:login"
LOGIN_REDIRECT_URL = "/"

# django-axes checks every sign-in first. It locks the pair (username, client IP), not the
# username alone, so an attacker elsewhere cannot lock a user out, and only for a cool-off.
AUTHENTICATION_BACKENDS = ["tasks_app.web.backends.LockoutBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The client's address, through django-ipware as the axes documentation prescribes. AXES_PROXY_COUNT
# is the number of trusted proxies in front of gunicorn (1: the nginx of deploy/). The edge proxy
# states the address it saw (nginx: `X-Forwarded-For $remote_addr`) and each further proxy appends
# its peer's, so X-Forwarded-For lists PROXY_COUNT addresses and the client is the PROXY_COUNT-th
# from the right: ipware's proxy_count is that minus one (its chain does not list the last proxy,
# which is REMOTE_ADDR). Anything a client wrote further left is never read. Without a proxy
# (AXES_PROXY_COUNT=0) only REMOTE_ADDR counts, so a forged header changes nothing.
_trusted_proxies = env_int("AXES_PROXY_COUNT", 0, minimum=0, maximum=10)
if _trusted_proxies:
    AXES_IPWARE_PROXY_ORDER = "right-most"
    AXES_IPWARE_PROXY_COUNT = _trusted_proxies - 1
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
else:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
# Two-factor sign-in (django-two-factor-auth, TOTP and backup codes) is open to everyone and
# required of officials who hold authority (tasks_app/web/middleware.py).
TWO_FACTOR_REQUIRED_FOR_AUTHORITY = env_bool("TWO_FACTOR_REQUIRED_FOR_AUTHORITY", True)
# The admin (/admin/) only for staff signed in with a second factor; its password form is not offered.
ADMIN_REQUIRES_TWO_FACTOR = env_bool("ADMIN_REQUIRES_TWO_FACTOR", True)
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Sáu rõ Hải Phòng")
# Password reset: requests per client address and mails per email address, each per hour.
PASSWORD_RESET_PER_CLIENT = env_int("PASSWORD_RESET_PER_CLIENT", 10, minimum=1)
PASSWORD_RESET_PER_ADDRESS = env_int("PASSWORD_RESET_PER_ADDRESS", 3, minimum=1)
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3 * 3600, minimum=600)

# Static files are served by the app (whitenoise), hashed and compressed under production settings.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# Content-Security-Policy (django-csp): no inline script or style, nothing from other hosts.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
SESSION_COOKIE_HTTPONLY = True
# A session ends after SESSION_MAX_HOURS whatever happens, and after a time without any request:
# short for officials holding authority (accept deliverables, decide extensions), longer for others.
SESSION_COOKIE_AGE = 3600 * env_int("SESSION_MAX_HOURS", 12, minimum=1, maximum=24 * 14)
SESSION_IDLE_TIMEOUT_MINUTES = env_int("SESSION_IDLE_TIMEOUT_MINUTES", 60, minimum=1)
SESSION_IDLE_TIMEOUT_AUTHORITY_MINUTES = env_int("SESSION_IDLE_TIMEOUT_AUTHORITY_MINUTES", 15, minimum=1)
# How often a used session records that it was used (one session write at most this often).
SESSION_IDLE_RESOLUTION_SECONDS = 60
# The pages send the CSRF token from the form or the page (htmx hx-headers), never read the cookie.
CSRF_COOKIE_HTTPONLY = True

EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if not DEBUG else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Theo dõi nhiệm vụ <noreply@localhost>")

REST_FRAMEWORK = {
    # Machines send `Authorization: Bearer <key>` (the key lands in request.auth); the web uses the session.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tasks_app.api.authentication.ApiKeyAuthentication",
        "tasks_app.api.authentication.VerifiedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tasks_app.api.permissions.IsAuthenticatedOrApiKey"],
    # JSON nested deeper than any request of ours is refused before parsing (tasks_app/inputs.py).
    "DEFAULT_PARSER_CLASSES": [
        "tasks_app.inputs.DepthLimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # JSON only in production (DRF's JSON written by orjson: tasks_app/api/renderers.py); the browsable
    # API (HTML forms over the API) only while developing.
    "DEFAULT_RENDERER_CLASSES": ["tasks_app.api.renderers.ApiJSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "tasks_app.api.pagination.ApiPagination",
    "DEFAULT_SCHEMA_CLASS": "tasks_app.api.schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "tasks_app.api.exceptions.exception_handler",
    # Per API key (or user, or address when anonymous); 429 with Retry-After past the rate.
    "DEFAULT_THROTTLE_CLASSES": ["tasks_app.api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api": env_str("API_THROTTLE_RATE", "600/min")},
}
# Requests without a valid key or session (and wrong feed tokens), per client address.
ANON_THROTTLE_RATE = env_str("ANON_THROTTLE_RATE", "60/min")
SPECTACULAR_SETTINGS = {
    "TITLE": "Hải Phòng 2026 — API theo dõi nhiệm vụ (sáu rõ)",
    "DESCRIPTION": "REST API for communes, departments and city portals. Auth: `Authorization: Bearer <key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # /api/docs/ works with no internet: Swagger UI comes from the installed sidecar package.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "AssignmentStatusEnum": "tasks_app.status.Status",
        "ExtensionRequestStatusEnum": "tasks_app.models.ExtensionRequest.Status",
    },
}
# Uploads: a body beyond every file at its largest is refused unread, a file beyond the limit is
# not stored past it (tasks_app/evidence.py), then Django's own handlers.
FILE_UPLOAD_HANDLERS = [
    "tasks_app.evidence.SizeLimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# Evidence uploads: the largest file accepted, and how many files one report may carry.
API_EVIDENCE_MAX_BYTES = env_int("API_EVIDENCE_MAX_BYTES", 20 * 1024 * 1024, minimum=1)
API_EVIDENCE_MAX_FILES = env_int("API_EVIDENCE_MAX_FILES", 10, minimum=1)
# Seconds a worker trusts an API key it verified: a revoked key is refused everywhere within this.
API_KEY_CACHE_SECONDS = env_int("API_KEY_CACHE_SECONDS", 5, minimum=0, maximum=60)
# The sync (GET assignments/sync/) stops this many seconds before the oldest open transaction or
# now: `updated_at` is computed a little before the save reaches the database (pagination.py).
# The API list's statements are prepared on PostgreSQL (tasks_app/api/prepared.py); false behind a
# connection pooler that cannot keep prepared statements (PgBouncer in transaction mode before 1.21).
API_PREPARED_STATEMENTS = env_bool("API_PREPARED_STATEMENTS", True)
API_SYNC_MARGIN_SECONDS = env_int("API_SYNC_MARGIN_SECONDS", 5, minimum=0, maximum=600)
# Webhook delivery: seconds to wait for the receiver, and attempts before a delivery is given up.
WEBHOOK_TIMEOUT = env_int("WEBHOOK_TIMEOUT", 10, minimum=1)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 8, minimum=1)
# Webhook URLs on loopback or private networks: allowed while developing, refused in production.
WEBHOOK_ALLOW_PRIVATE_URLS = env_bool("WEBHOOK_ALLOW_PRIVATE_URLS", DEBUG)
# Backoff between attempts (base × 2^(n-1), capped), and after how long a claim by a worker that
# never finished may be taken again (must exceed WEBHOOK_TIMEOUT).
WEBHOOK_RETRY_BASE_SECONDS = env_int("WEBHOOK_RETRY_BASE_SECONDS", 10, minimum=1)
WEBHOOK_RETRY_MAX_SECONDS = env_int("WEBHOOK_RETRY_MAX_SECONDS", 3600, minimum=1)
WEBHOOK_CLAIM_TIMEOUT = env_int("WEBHOOK_CLAIM_TIMEOUT", 120, minimum=2)
# How webhook host names are resolved (a dotted path to `f(host, port) -> [addresses]`); tests swap it.
WEBHOOK_RESOLVER = "tasks_app.api.webhooks.system_resolver"

# Celery: Redis in production; with no REDIS_URL an embedded filesystem broker under var/
# so the demo's web, worker and beat talk to each other with nothing else installed.
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # A task taken but not acknowledged within the visibility timeout is given to another worker.
    # It must exceed the longest countdown of a retry (REMINDER_RETRY_MAX_SECONDS), or Redis would
    # hand a waiting retry out twice; the reminders' ledger makes a second copy harmless anyway.
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 7200, minimum=60),
    }
else:
    CELERY_BROKER_URL = "filesystem://"
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # The exchange tables (pidbox, broadcast) too, instead of a "control/" in the working directory.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Reliability, chosen because every task is idempotent (the reminders' ledger and the webhook rows
# decide what is sent, a second run of a task finds nothing to do):
# - acks_late + reject_on_worker_lost: a task is acknowledged after it ran, so a worker killed
#   mid-task leaves its message to be delivered again instead of losing it;
# - prefetch 1: a worker holds one unacknowledged message at a time, so a slow SMTP or Zalo call
#   does not hold other messages hostage and a dead worker strands at most one;
# - Redis must run with `maxmemory-policy noeviction` (deploy/): an evicted queue key is a lost task.
#   For reminders, lost or not, the periodic `reminders.dispatch` re-enqueues every ledger row still
#   due. Webhooks have no such re-send: a delivery whose queued task is lost stays an unsent row in
#   the delivery log (the admin shows it) until something enqueues `deliver_webhook` for it again.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# The one beat schedule of the project. The sweep runs every 15 minutes and does nothing before
# the send hour or on a day off; once a day's rows exist a later run creates nothing (the ledger's
# unique key), so a beat restarted at 08:20 still sends that day's reminders.
# The reminders' sweep and dispatcher on a queue of their own, consumed by every worker alongside the
# default one (a worker consumes every queue listed here unless told -Q): a backlog of sends on
# "celery" cannot hold back the safety net.
CELERY_TASK_QUEUES = [Queue("celery"), Queue("reminders-control")]
CELERY_TASK_ROUTES = {
    "reminders.sweep": {"queue": "reminders-control"},
    "reminders.dispatch": {"queue": "reminders-control"},
}
CELERY_BEAT_SCHEDULE = {
    "reminders-sweep": {"task": "reminders.sweep", "schedule": crontab(minute="*/15")},
    "reminders-dispatch": {"task": "reminders.dispatch", "schedule": 60.0},
    "webhooks-dispatch": {"task": "webhooks.dispatch", "schedule": 60.0},
    # The dashboard's maintained counts judge open work as of one day: moved to the new local day
    # just after midnight (tasks_app.counts.roll), and their deltas folded.
    "counts-roll": {"task": "counts.roll", "schedule": crontab(minute=5, hour=0)},
}

# Reminders (tasks_app/reminders): retry backoff of a failed delivery, and after how long a row
# claimed by a sender that never finished (a killed worker) may be claimed again. The claim
# timeout must exceed the slowest send (EMAIL_TIMEOUT, ZALO_TIMEOUT).
REMINDER_RETRY_BASE_SECONDS = env_int("REMINDER_RETRY_BASE_SECONDS", 60, minimum=1)
REMINDER_RETRY_MAX_SECONDS = env_int("REMINDER_RETRY_MAX_SECONDS", 3600, minimum=1)
REMINDER_CLAIM_TIMEOUT = env_int("REMINDER_CLAIM_TIMEOUT", 300, minimum=1)
# After a provider accepted a message: recording `sent` is retried for this long while the database
# does not answer; the acceptance is first noted in a journal file under this directory, replayed by
# the next sender if this one dies (tasks_app/reminders/journal.py).
# A (recipient, channel) send marked queued is not queued again by the dispatcher for this long at
# most (the mark is cleared when the send starts).
REMINDER_QUEUED_TTL = env_int("REMINDER_QUEUED_TTL", 900, minimum=60)
REMINDER_RECORD_PATIENCE = env_int("REMINDER_RECORD_PATIENCE", 3600, minimum=1)
REMINDER_JOURNAL_DIR = Path(env_str("REMINDER_JOURNAL_DIR", str(VAR_DIR / "reminder-journal")))
# A Zalo request that went out and got no answer within ZALO_ANSWER_TIMEOUT may have been accepted:
# it is sent again (same tracking id) only after this many seconds.
REMINDER_UNCERTAIN_RETRY_SECONDS = env_int("REMINDER_UNCERTAIN_RETRY_SECONDS", 900, minimum=0)
# Zalo Official Account messages and ZNS template messages; tests point the bases at loopback.
ZALO_API_BASE = env_str("ZALO_API_BASE", "https://openapi.zalo.me").rstrip("/")
ZALO_ZNS_BASE = env_str("ZALO_ZNS_BASE", "https://business.openapi.zalo.me").rstrip("/")
ZALO_OAUTH_BASE = env_str("ZALO_OAUTH_BASE", "https://oauth.zaloapp.com").rstrip("/")
ZALO_OA_ACCESS_TOKEN = env_str("ZALO_OA_ACCESS_TOKEN")
ZALO_OA_REFRESH_TOKEN = env_str("ZALO_OA_REFRESH_TOKEN")
ZALO_APP_ID = env_str("ZALO_APP_ID")
ZALO_APP_SECRET = env_str("ZALO_APP_SECRET")
ZALO_ZNS_TEMPLATE_ID = env_str("ZALO_ZNS_TEMPLATE_ID")
ZALO_TIMEOUT = env_int("ZALO_TIMEOUT", 10, minimum=1)  # connecting
# Waiting for Zalo's answer once the request is out; must stay below REMINDER_CLAIM_TIMEOUT.
ZALO_ANSWER_TIMEOUT = env_int("ZALO_ANSWER_TIMEOUT", 60, minimum=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # A year with subdomains already meets the preload list's terms; sending `preload` only permits
    # submitting the domain there. A site that opts out has decided so, and the check says nothing.
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    if not SECURE_HSTS_PRELOAD:
        SILENCED_SYSTEM_CHECKS = ["security.W021"]

# `make demo` (Procfile.demo sets DEMO=true): a local install — embedded SQLite and broker, console
# e-mail, plain-HTTP cookies, static files through whitenoise's finders, all chosen above by DEBUG —
# shown as its users see production: Django's own DEBUG is off, so a missing page, a refusal and a
# crash answer the site's styled 403/404/500 pages in the reader's language, never the debug page.
DEMO = env_bool("DEMO", False)
if DEMO:
    DEBUG = False
