"""Settings for every environment.

One module: production behaviour is switched by environment variables (see
`.env.example`), never by a different code path. Without any variable set, it runs
the embedded default: SQLite, kombu's filesystem broker and emails written to files.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

from config.logs import LOG_FORMATS, logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# PRODUCTION marks a real deployment: https-only webhooks, secure cookies and a
# secret key that must be set explicitly.
PRODUCTION = env.bool("PRODUCTION", default=False)

if PRODUCTION:
    SECRET_KEY = env.str("SECRET_KEY", default="")
    # An empty value (SECRET_KEY= copied from .env.example) is as bad as none.
    if not SECRET_KEY:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when PRODUCTION=true (a long random string, e.g. "
            '`python -c "import secrets; print(secrets.token_urlsafe(50))"`).'
        )
else:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-do-not-use")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Absolute URL of this site, used in emails and API answers (order page links).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "anymail",
    "axes",
    "accounts",
    "products",
    "fulfillment",
    "orders",
    "emails",
    "keylists",
    "downloads",
    "web",
]

MIDDLEWARE = [
    # First: load balancers' probes skip host validation and the https redirect.
    "config.middleware.HealthzMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Right after SecurityMiddleware, as WhiteNoise asks: static files are answered
    # here, before sessions, CSRF or the database are touched.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Signed-in pages (dashboard, admin) are never stored by a browser or proxy.
    "config.middleware.SignedInNoStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a lockout signalled during
    # authentication into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------
# Embedded default: SQLite in WAL mode with IMMEDIATE transactions, so the web
# process and the worker threads can write without "database is locked" errors.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so that integration tests can share it with a worker.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
elif env.bool("DB_POOL", default=True):
    # A connection pool per process (psycopg_pool, Django 5.1+). Celery's Django
    # fixup closes every connection before and after each task, whatever
    # CONN_MAX_AGE says; with a pool, "closing" returns the connection instead
    # of ending a PostgreSQL backend. Measured in `make bench` (docs/benchmarks.md):
    # without it every delivery opened about two backends.
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps them
    # The ceiling of any one process's pool. Each gunicorn and Celery worker
    # shrinks its own to what its threads can use when it starts
    # (config/db_pool.py); the sum over the deployment is the connection budget
    # of docs/deploy.md, tested in tests/config/test_connection_budget.py.
    _POOL_MAX_SIZE = env.int("DB_POOL_MAX_SIZE", default=32)
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": min(env.int("DB_POOL_MIN_SIZE", default=2), _POOL_MAX_SIZE),
        "max_size": _POOL_MAX_SIZE,
        "timeout": env.float("DB_POOL_TIMEOUT", default=10.0),
    }
    # Sessions start in UTC, as Django wants them: otherwise Django sets the time
    # zone with a statement (and, in autocommit, a commit) on every new
    # connection whenever the server's zone is not named exactly "UTC". Not on
    # the PgBouncer path below: PgBouncer refuses an `options` startup parameter.
    _options = DATABASES["default"]["OPTIONS"]
    if "timezone" not in _options.get("options", ""):
        _options["options"] = f"{_options.get('options', '')} -c timezone=UTC".strip()
else:
    # Without a pool (e.g. behind PgBouncer): persistent connections for web
    # requests. Celery workers still reconnect for every task.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# AxesStandaloneBackend first: it refuses a locked-out username+IP before
# ModelBackend checks the password. It only checks; ModelBackend authenticates.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "products:list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
# WhiteNoise serves STATIC_ROOT from the WSGI app. Deployed (PRODUCTION, or DEBUG
# off), `collectstatic` writes hashed, compressed copies and a manifest, so pages
# link /static/css/app.<hash>.css, cached for a year. Development (DEBUG) keeps
# the plain storage, and so do the tests (tests/settings.py). STATIC_MANIFEST
# overrides the choice.
STATIC_MANIFEST = env.bool("STATIC_MANIFEST", default=PRODUCTION or not DEBUG)
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATIC_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Downloads (the downloads app) ----------------------------------------------
# Products' files live in the "downloads" storage: var/downloads on the embedded
# default; an S3-compatible bucket (django-storages) when DOWNLOADS_S3_BUCKET is
# set. Credentials come from DOWNLOADS_S3_ACCESS_KEY_ID and
# DOWNLOADS_S3_SECRET_ACCESS_KEY, or else boto3's own chain (AWS_* variables, an
# instance role). The bucket stays private: customers get presigned URLs.
DOWNLOADS_S3_BUCKET = env.str("DOWNLOADS_S3_BUCKET", default="")
if DOWNLOADS_S3_BUCKET:
    STORAGES["downloads"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": DOWNLOADS_S3_BUCKET,
            "endpoint_url": env.str("DOWNLOADS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("DOWNLOADS_S3_REGION", default="") or None,
            "access_key": env.str("DOWNLOADS_S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("DOWNLOADS_S3_SECRET_ACCESS_KEY", default="") or None,
            "addressing_style": env.str("DOWNLOADS_S3_ADDRESSING_STYLE", default="")
            or None,
            "location": env.str("DOWNLOADS_S3_PREFIX", default=""),
            "signature_version": "s3v4",
            "querystring_auth": True,
            "file_overwrite": False,
            # Private objects whatever the bucket's default says.
            "default_acl": None,
        },
    }
else:
    STORAGES["downloads"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(VAR_DIR / "downloads"), "base_url": None},
    }
# How long a link in an order email or on the order page opens its file; the
# order page makes fresh ones on every visit.
DOWNLOAD_LINK_MAX_AGE = env.int("DOWNLOAD_LINK_MAX_AGE", default=24 * 3600)
# The largest file a seller may upload (bytes, default 2 GiB). Uploads stream to
# a temporary file on disk first (FILE_UPLOAD_MAX_MEMORY_SIZE, below), so the
# disk of FILE_UPLOAD_TEMP_DIR needs room for the largest; a reverse proxy in
# front needs a body limit at least this large.
DOWNLOAD_MAX_FILE_BYTES = env.int("DOWNLOAD_MAX_FILE_BYTES", default=2 * 1024**3)
# Downloads of one file by one order; 0 for no limit.
DOWNLOADS_PER_FILE_PER_ORDER = env.int("DOWNLOADS_PER_FILE_PER_ORDER", default=100)
# S3 only: seconds a presigned URL works once a link redirected to it.
DOWNLOAD_PRESIGNED_SECONDS = env.int("DOWNLOAD_PRESIGNED_SECONDS", default=60)
# Uploads larger than this are written to a temporary file instead of memory
# (Django's default, stated here because the uploads above rely on it).
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_TEMP_DIR = env.str("FILE_UPLOAD_TEMP_DIR", default="") or None

# Without collectstatic there is no STATIC_ROOT: WhiteNoise then finds each file
# when it is asked for (as it does under DEBUG) instead of indexing the folder
# at start, which would warn that it is missing.
WHITENOISE_AUTOREFRESH = env.bool(
    "WHITENOISE_AUTOREFRESH", default=DEBUG or not STATIC_MANIFEST
)

# --- Security -------------------------------------------------------------------
SESSION_COOKIE_SECURE = PRODUCTION
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
SECURE_HSTS_SECONDS = 31536000 if PRODUCTION else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
# Preload is a commitment to browser vendors that is slow to undo (every subdomain,
# https only, for months); it is a decision for the site's owner, not a default.
SECURE_HSTS_PRELOAD = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PRODUCTION else None
SECURE_CONTENT_TYPE_NOSNIFF = True
# The customer order page carries its token in the URL and sends no-referrer itself.
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# check --deploy warns (security.W021) whenever HSTS is on without preload. Preload
# is deliberately off (see above), so the warning says nothing we have not decided.
SILENCED_SYSTEM_CHECKS = ["security.W021"]

# Content Security Policy (django-csp 4). No inline script anywhere: every script
# is a file under 'self' (Django admin 5.2 passes its data in data- attributes).
# Styles are 'self' only: inline style= attributes and <style> blocks are refused,
# so injected markup cannot restyle a page to mislead (fake buttons, hidden text)
# or leak data through CSS selectors. The email preview is the one place that needs
# inline styles: its sandboxed srcdoc iframe inherits this policy, so the views
# that show it relax style-src for their own response only (django-csp's
# @csp_update), never site-wide.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

# --- Login throttling (django-axes) ---------------------------------------------
# Five wrong passwords for one username from one IP lock that pair out for 15
# minutes; the same username from another IP, and other users, are unaffected.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
# Number of reverse proxies in front of the site that each append the address they
# saw to X-Forwarded-For. 0 (the default) trusts no header and uses REMOTE_ADDR:
# without a proxy the header is whatever the client typed, and trusting it would
# let a guesser pick a fresh "IP" for every try.
TRUSTED_PROXY = env.int("TRUSTED_PROXY", default=0)


def _client_ip_behind_trusted_proxies(request) -> str | None:
    """The address the outermost trusted proxy saw, the only one it vouches for.

    Entries left of it were written by the client and may be forged.
    """
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if len(hops) >= TRUSTED_PROXY:
        return hops[-TRUSTED_PROXY]
    return request.META.get("REMOTE_ADDR")


# django-axes 8 reads the client IP from REMOTE_ADDR unless a callable says otherwise
# (its AXES_IPWARE_* settings apply only with the optional django-ipware installed).
AXES_CLIENT_IP_CALLABLE = _client_ip_behind_trusted_proxies if TRUSTED_PROXY else None

# --- Email ----------------------------------------------------------------------
# Production: an Anymail backend, e.g.
# EMAIL_BACKEND=anymail.backends.postmark.EmailBackend with its keys in ANYMAIL
# (see .env.example). Embedded default: files under var/mail.
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend"
)
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="Orders <orders@fulfillment.localhost>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Seconds an SMTP socket operation may hang (Django's default is forever).
# Anymail's HTTP backends have their own, ANYMAIL_REQUESTS_TIMEOUT (30 s by
# default). Both stay below FULFILLMENT_EMAIL_CLAIM_TIMEOUT_SECONDS, after which a
# claim on an unsent email is taken over.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
# The domain of our deterministic Message-IDs (<order-…@domain>).
EMAIL_MESSAGE_ID_DOMAIN = env.str(
    "EMAIL_MESSAGE_ID_DOMAIN", default="fulfillment.localhost"
)
ANYMAIL = {
    key.removeprefix("ANYMAIL_"): value
    for key, value in env.ENVIRON.items()
    if key.startswith("ANYMAIL_")
}
# The ESP whose tracking webhook (delivered, bounced, complained) is mounted at
# /anymail/<esp>/tracking/, by Anymail's name (as in anymail.backends.<esp>). By
# default the ESP of EMAIL_BACKEND. Development and tests mount Postmark's, so the
# path from webhook to the seller's order page runs without an ESP account; a
# production site without an ESP backend mounts none (nobody would report to it).
_BACKEND_ESP = (
    EMAIL_BACKEND.split(".")[2] if EMAIL_BACKEND.startswith("anymail.backends.") else ""
)
if _BACKEND_ESP == "test":  # Anymail's test backend has no webhook.
    _BACKEND_ESP = ""
EMAIL_TRACKING_ESP = env.str(
    "EMAIL_TRACKING_ESP", default=_BACKEND_ESP or ("" if PRODUCTION else "postmark")
)
# Anymail's webhooks take only requests with this HTTP basic auth, "user:password"
# (the ESP calls https://user:password@host/anymail/<esp>/tracking/): without it
# anyone could report bounces. Development and tests have a known one.
if not PRODUCTION and not ANYMAIL.get("WEBHOOK_SECRET"):
    ANYMAIL["WEBHOOK_SECRET"] = "dev-only:insecure-webhook-secret"  # noqa: S105 - dev
if EMAIL_TRACKING_ESP and ":" not in ANYMAIL.get("WEBHOOK_SECRET", ""):
    raise ImproperlyConfigured(
        f"ANYMAIL_WEBHOOK_SECRET must be set, as user:password, for the "
        f"{EMAIL_TRACKING_ESP} tracking webhook (two random strings, e.g. "
        '`python -c "import secrets; print(secrets.token_hex(8), '
        "secrets.token_hex(16), sep=':')\"`), or EMAIL_TRACKING_ESP= to mount none."
    )

# --- Celery ---------------------------------------------------------------------
# Embedded default: kombu's filesystem transport, a folder both processes share.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://localhost//")
_BROKER_DIR = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport, writing each message atomically (kombu #1551).
    # It creates these folders when it first opens a channel.
    CELERY_BROKER_TRANSPORT = "config.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "out"),
        "data_folder_out": str(_BROKER_DIR / "out"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
        # Seconds between looks at the folder: the customer is waiting.
        "polling_interval": 0.2,
    }
else:
    if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        # kombu's Redis transport, sharing one client per connection pool.
        CELERY_BROKER_TRANSPORT = "config.broker:RedisTransport"
    # Above the longest task's hard time limit, so that a running acks_late task
    # is never handed to a second worker (kombu #337).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 90
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_DEFAULT_QUEUE = "fulfillment"
CELERY_TASK_ROUTES = {
    "fulfillment.tasks.delivery_attempt_task": {"queue": "fulfillment"},
    "fulfillment.tasks.deliveries_dispatch_due_task": {"queue": "fulfillment"},
    "fulfillment.tasks.alert_attempt_task": {"queue": "fulfillment"},
    "fulfillment.tasks.alerts_dispatch_due_task": {"queue": "fulfillment"},
    "fulfillment.tasks.deliveries_serve_from_lists_task": {"queue": "fulfillment"},
    "fulfillment.tasks.order_email_send_task": {"queue": "email"},
    "fulfillment.tasks.order_emails_dispatch_due_task": {"queue": "email"},
    "fulfillment.tasks.seller_alerts_send_task": {"queue": "email"},
    "fulfillment.tasks.order_delay_notices_send_task": {"queue": "email"},
    "fulfillment.tasks.attempts_purge_task": {"queue": "email"},
    "accounts.tasks.signups_unconfirmed_purge_task": {"queue": "email"},
    "emails.tasks.order_refund_notice_send_task": {"queue": "email"},
    "emails.tasks.order_refund_notices_send_task": {"queue": "email"},
    "emails.tasks.purchases_link_email_send_task": {"queue": "email"},
    "keylists.tasks.key_list_low_stock_email_send_task": {"queue": "email"},
}
CELERY_BEAT_SCHEDULE = {
    # The database is the truth; this wakes up deliveries whose message was lost.
    "dispatch-due-deliveries": {
        "task": "fulfillment.tasks.deliveries_dispatch_due_task",
        "schedule": env.float("FULFILLMENT_DISPATCH_INTERVAL", default=5.0),
    },
    # The same for the sellers' alerts (the account-wide webhook).
    "dispatch-due-alerts": {
        "task": "fulfillment.tasks.alerts_dispatch_due_task",
        "schedule": env.float("FULFILLMENT_DISPATCH_INTERVAL", default=5.0),
    },
    # Key lists: deliveries waiting for keys, and Webhook deliveries past their
    # list's fallback delay (fulfillment.services.keylist).
    "serve-from-key-lists": {
        "task": "fulfillment.tasks.deliveries_serve_from_lists_task",
        "schedule": env.float("FULFILLMENT_KEY_LIST_INTERVAL", default=15.0),
    },
    # The same for order emails owed but never sent.
    "dispatch-due-order-emails": {
        "task": "fulfillment.tasks.order_emails_dispatch_due_task",
        "schedule": env.float("FULFILLMENT_EMAIL_DISPATCH_INTERVAL", default=10.0),
    },
    # One grouped email per seller about deliveries that failed for good.
    "send-seller-alerts": {
        "task": "fulfillment.tasks.seller_alerts_send_task",
        "schedule": env.float("FULFILLMENT_SELLER_ALERT_INTERVAL", default=300.0),
    },
    # "Your license is on its way" to customers still waiting.
    "send-delay-notices": {
        "task": "fulfillment.tasks.order_delay_notices_send_task",
        "schedule": 60.0,
    },
    # Refund notices whose task never ran (the task is enqueued with the refund).
    "send-refund-notices": {
        "task": "emails.tasks.order_refund_notices_send_task",
        "schedule": 60.0,
    },
    "purge-attempt-bodies": {
        "task": "fulfillment.tasks.attempts_purge_task",
        "schedule": 6 * 3600.0,
    },
    # Sign-ups never confirmed (accounts.services.signups_unconfirmed_purge).
    "purge-unconfirmed-signups": {
        "task": "accounts.tasks.signups_unconfirmed_purge_task",
        "schedule": 24 * 3600.0,
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- Fulfillment ----------------------------------------------------------------
# The deadline of one webhook exchange, DNS lookup and connection included; the
# lease and the attempt's time limit are sized from it.
_TOTAL_TIMEOUT = env.float("FULFILLMENT_TOTAL_TIMEOUT", default=15.0)
FULFILLMENT = {
    # Seconds to open a connection, and for the whole response once connected.
    "CONNECT_TIMEOUT": env.float("FULFILLMENT_CONNECT_TIMEOUT", default=5.0),
    "TOTAL_TIMEOUT": _TOTAL_TIMEOUT,
    "MAX_RESPONSE_BYTES": env.int("FULFILLMENT_MAX_RESPONSE_BYTES", default=64 * 1024),
    # Seconds after each failed attempt (index = attempts so far - 1). The first
    # steps are short because the customer is waiting; the whole lasts about two days.
    "RETRY_SCHEDULE": env.list(
        "FULFILLMENT_RETRY_SCHEDULE",
        cast=int,
        default=[10, 60, 300, 1800, 7200, 21600, 43200, 86400],
    ),
    # Hard time limit of one attempt task (enforced under prefork only; the
    # thread pool relies on the transport's own deadline): the whole exchange,
    # TOTAL_TIMEOUT (which includes the DNS lookup and the connection), and a few
    # queries.
    "ATTEMPT_TIME_LIMIT": env.int(
        "FULFILLMENT_ATTEMPT_TIME_LIMIT", default=int(_TOTAL_TIMEOUT) + 5
    ),
    # How long a worker owns a claimed delivery. Past it, a delivery still in
    # flight belongs to a worker that stopped: it is due again at once, that try
    # not counted. Sized from the attempt's deadline, not generously: a
    # customer whose worker was killed waits this long (plus the dispatcher's
    # interval). Longer than the attempt task's hard time limit (checked at
    # startup), so a running attempt ends before anybody else may take it.
    "LEASE_SECONDS": env.int(
        "FULFILLMENT_LEASE_SECONDS", default=int(_TOTAL_TIMEOUT) + 10
    ),
    # A due delivery untouched for this long has lost its broker message (a
    # flushed broker, a killed worker's prefetched or countdown messages); the
    # dispatcher, every FULFILLMENT_DISPATCH_INTERVAL (5 s), enqueues it again.
    "DISPATCH_GRACE_SECONDS": env.int("FULFILLMENT_DISPATCH_GRACE_SECONDS", default=15),
    # How long one minute of a key list's fallback delay lasts. Only tests
    # shorten it (a seller's "10 minutes" then passes in seconds).
    "KEY_LIST_FALLBACK_MINUTE_SECONDS": env.float(
        "FULFILLMENT_KEY_LIST_FALLBACK_MINUTE_SECONDS", default=60.0
    ),
    # Hard time limit of an email task (prefork only, as above).
    "EMAIL_TASK_TIME_LIMIT": env.int("FULFILLMENT_EMAIL_TASK_TIME_LIMIT", default=45),
    # A worker's claim on an order email older than this belongs to a dead worker
    # and is taken over (longer than the email task's hard time limit and the
    # email timeouts, checked at startup).
    "EMAIL_CLAIM_TIMEOUT_SECONDS": env.int(
        "FULFILLMENT_EMAIL_CLAIM_TIMEOUT_SECONDS", default=60
    ),
    # True: the fulfillment worker that settles an order's last delivery sends
    # the customer's email itself, without the email queue's hop (about 12 %
    # less CPU per delivery in `make bench`), but a fulfillment worker killed in
    # the instant after the provider took the email sends it twice. Off by
    # default: see docs/decisions.md.
    "EMAIL_FROM_FULFILLMENT_WORKER": env.bool(
        "FULFILLMENT_EMAIL_FROM_FULFILLMENT_WORKER", default=False
    ),
    # An owed order email still unsent this long after fulfillment is enqueued
    # again (the email dispatcher runs every FULFILLMENT_EMAIL_DISPATCH_INTERVAL,
    # 10 s).
    "EMAIL_DISPATCH_GRACE_SECONDS": env.int(
        "FULFILLMENT_EMAIL_DISPATCH_GRACE_SECONDS", default=15
    ),
    # Networks a webhook may reach although they are private or loopback. Empty in
    # production; `make run` and the tests allow 127.0.0.0/8 explicitly.
    "ALLOWED_PRIVATE_NETWORKS": env.list(
        "FULFILLMENT_ALLOWED_PRIVATE_NETWORKS", default=[]
    ),
    "USER_AGENT": "FulfillmentWebhooks/1.0",
    # Requests in flight to one seller endpoint (scheme://host:port) at a time.
    "ENDPOINT_MAX_IN_FLIGHT": env.int("FULFILLMENT_ENDPOINT_MAX_IN_FLIGHT", default=4),
    # Consecutive failures of one endpoint in which nobody answered (timeouts,
    # refused connections, TLS failures; never an HTTP answer) that open its
    # circuit; how long it then stays open before one probe delivery goes out;
    # and the longest a failed probe may stretch that to (doubling each time).
    # The probe interval stays short: the customer's wait after the server
    # recovers is at most one window plus one attempt.
    "CIRCUIT_FAILURE_THRESHOLD": env.int(
        "FULFILLMENT_CIRCUIT_FAILURE_THRESHOLD", default=5
    ),
    "CIRCUIT_OPEN_SECONDS": env.int("FULFILLMENT_CIRCUIT_OPEN_SECONDS", default=30),
    "CIRCUIT_MAX_OPEN_SECONDS": env.int(
        "FULFILLMENT_CIRCUIT_MAX_OPEN_SECONDS", default=30
    ),
    # A Retry-After (429, 503) is honoured up to this many seconds.
    "RETRY_AFTER_MAX_SECONDS": env.int(
        "FULFILLMENT_RETRY_AFTER_MAX_SECONDS", default=3600
    ),
    # Attempt request/response bodies are cleared after this many days.
    "ATTEMPT_RETENTION_DAYS": env.int("FULFILLMENT_ATTEMPT_RETENTION_DAYS", default=30),
    # A customer whose order is still unfulfilled this long after purchase gets one
    # "your license is on its way" email.
    "CUSTOMER_DELAY_NOTICE_MINUTES": env.int(
        "FULFILLMENT_CUSTOMER_DELAY_NOTICE_MINUTES", default=15
    ),
}

# --- Logging --------------------------------------------------------------------
# "plain" lines for people (development), "json" for a log collector
# (production): one object per line with the delivery and order ids the line is
# about (config/logs.py). gunicorn's access log uses the same format.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in LOG_FORMATS:
    raise ImproperlyConfigured(
        f"LOG_FORMAT={LOG_FORMAT}: use one of {', '.join(LOG_FORMATS)}."
    )
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = logging_config(fmt=LOG_FORMAT, level=LOG_LEVEL)
# Celery workers and beat keep this configuration instead of replacing the root
# logger's handlers with their own format, so their lines are JSON too.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Metrics --------------------------------------------------------------------
# /metrics (Prometheus) answers only a scraper that sends
# "Authorization: Bearer <METRICS_TOKEN>". Without a token it is open in
# development and answers 404 in production: never an open endpoint there.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
if METRICS_TOKEN and len(METRICS_TOKEN) < 32:
    raise ImproperlyConfigured(
        "METRICS_TOKEN must be at least 32 characters (e.g. "
        '`python -c "import secrets; print(secrets.token_urlsafe(32))"`), or empty '
        "to turn /metrics off in production."
    )

# Fernet keys for signing secrets at rest (fulfillment/crypto.py). The first key
# encrypts, every key decrypts, so a key can be rotated. Without any, development
# and tests derive one from SECRET_KEY.
SECRET_ENCRYPTION_KEYS = env.list("SECRET_ENCRYPTION_KEYS", default=[])
if PRODUCTION and not SECRET_ENCRYPTION_KEYS:
    raise ImproperlyConfigured(
        "SECRET_ENCRYPTION_KEYS must be set when PRODUCTION=true, e.g. "
        "python -c 'from cryptography.fernet import Fernet; "
        "print(Fernet.generate_key().decode())'"
    )

# Orders API: requests per token per window, "<requests>/<seconds>".
API_RATE_LIMIT = env.str("API_RATE_LIMIT", default="120/60")
# "Find my purchase" (orders.purchases): how long the emailed link lists the
# address's orders, and how many links may be asked for per address and per
# client IP per window ("<requests>/<seconds>"). Counted in the cache below;
# refused, not let through, when the cache cannot count (docs/decisions.md).
PURCHASES_LINK_MAX_AGE = env.int("PURCHASES_LINK_MAX_AGE", default=30 * 60)
PURCHASES_RATE_PER_ADDRESS = env.str("PURCHASES_RATE_PER_ADDRESS", default="5/3600")
PURCHASES_RATE_PER_IP = env.str("PURCHASES_RATE_PER_IP", default="20/3600")
# Account emails (sign-up confirmation, its resend, password reset) per client
# IP, then per address, "<requests>/<seconds>": refused (429) above, and while
# the cache cannot count (503). accounts/limits.py.
ACCOUNT_EMAIL_RATE_PER_IP = env.str("ACCOUNT_EMAIL_RATE_PER_IP", default="10/3600")
ACCOUNT_EMAIL_RATE_PER_ADDRESS = env.str(
    "ACCOUNT_EMAIL_RATE_PER_ADDRESS", default="3/3600"
)
# A sign-up not confirmed after this many days is deleted, freeing its username.
SIGNUP_UNCONFIRMED_DAYS = env.int("SIGNUP_UNCONFIRMED_DAYS", default=30)
# The largest key list file a seller may upload (.txt or .csv), in bytes.
KEY_LIST_UPLOAD_MAX_BYTES = env.int(
    "KEY_LIST_UPLOAD_MAX_BYTES", default=5 * 1024 * 1024
)
# The API rate limiter counts in the cache. LocMem is per process; production
# with several web processes needs a shared one, e.g. CACHE_URL=redis://host:6379/1.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

PAYMENT_PROVIDER = env.str("PAYMENT_PROVIDER", default="test")
# The test provider takes no money; with PRODUCTION on it is refused unless this
# says the site is a staging site.
ALLOW_TEST_PAYMENTS = env.bool("ALLOW_TEST_PAYMENTS", default=False)

# Messages live in the session, never in a cookie the browser keeps.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
