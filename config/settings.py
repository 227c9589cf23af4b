"""Settings for the Partnership Engagement Tracker.

Everything that differs between machines comes from the environment (see README):
DATABASE_URL, DJANGO_SECRET_KEY, DJANGO_DEBUG, DJANGO_ALLOWED_HOSTS, DJANGO_TIME_ZONE and the
others listed there.
"""

import datetime
import hashlib
import ipaddress
import os
import zoneinfo
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
import dj_email_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name, default=False):
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def envint(name, default):
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None


def envlist(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = envbool("DJANGO_DEBUG")

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set DJANGO_SECRET_KEY, or DJANGO_DEBUG=1 for development.")
    SECRET_KEY = "insecure-development-key-never-use-in-production"

ALLOWED_HOSTS = envlist("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")

INSTALLED_APPS = [
    "core.apps.AdminConfig",  # Django's admin, with the project's site (core/admin.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "csp",
    "axes",
    # The second factor (accounts/mfa.py): TOTP, recovery codes, passkeys.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    # Background jobs (jobs/): Django's task API and its database backend's queue.
    "django_tasks",
    "django_tasks_db",
    "jobs",
    "accounts",
    "partners",
    "people",
    "roadmap",
    "engagements",
    "notifications",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
    # Where this request reads from: a replica, or the primary (config/routers.py).
    "config.routers.ReplicaMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below WhiteNoise, so that static files stay cacheable and nothing else is.
    "config.middleware.NoStoreMiddleware",
    # Before anything reads a body (the CSRF check does): a body over its view's limit is
    # refused from its Content-Length.
    "config.middleware.BodyLimitMiddleware",
    "config.middleware.RejectNullCharactersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Whether this session has passed its second factor (`request.user.is_verified()`).
    "django_otp.middleware.OTPMiddleware",
    # Every page needs a signed-in user unless marked @login_not_required (sign-in, API).
    "config.middleware.LoginRequiredMiddleware",
    # Django's, its storage made only when a message is added or read (most API calls: never).
    "config.middleware.MessageMiddleware",
    # Sessions end when idle or too old (accounts/sessions.py); it says so in a message.
    "accounts.sessions.SessionLimitMiddleware",
    # A refusal (403) of a signed-in user goes into the audit trail.
    "accounts.audit.DeniedMiddleware",
    # Until the second factor is passed (or set up, where MFA_REQUIRED asks for one), a
    # session reaches only those pages and signing out (accounts/mfa.py).
    "accounts.mfa.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Who made a change, for the change history of engagements, partners and tips.
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last: turns a sign-in lockout into its response.
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
                # The page's marking, for its top and bottom banners (accounts/markings.py).
                "accounts.markings.banner",
                # The idle limit, for the warning a minute before it (static/js/idle.js).
                "accounts.sessions.limits",
                # The header's count of unread notifications.
                "notifications.context.unread",
            ],
        },
    },
]

(BASE_DIR / "var").mkdir(exist_ok=True)
CONN_MAX_AGE = envint("DJANGO_CONN_MAX_AGE", 60)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}"),
        conn_max_age=CONN_MAX_AGE,
    )
}
# Read replicas of the primary (PostgreSQL streaming replication): requests with a safe
# method read from one of them, writes and transactions stay on the primary, and a user
# who wrote reads from a replica only once it has replayed that write, for at most
# REPLICA_PIN_SECONDS (config/routers.py). In tests they mirror the test database instead
# of getting their own.
DATABASE_REPLICAS = []
for number, url in enumerate(envlist("DATABASE_REPLICA_URLS"), start=1):
    DATABASES[f"replica{number}"] = {
        **dj_database_url.parse(url, conn_max_age=CONN_MAX_AGE),
        "TEST": {"MIRROR": "default"},
    }
    DATABASE_REPLICAS.append(f"replica{number}")
# PgBouncer in transaction pooling between the app and PostgreSQL (DJANGO_PGBOUNCER=1): a
# server session lasts one transaction there, so no server-side cursors (they are held
# across transactions; downloads then read their rows client-side) and no prepared
# statements. Elsewhere psycopg prepares a query it has run five times on a connection, on
# the cursors that bind on the server: only core.db.prepared_cursor's (the hot queries).
PGBOUNCER = envbool("DJANGO_PGBOUNCER")
for database in DATABASES.values():
    if database["ENGINE"] == "django.db.backends.postgresql":
        database["DISABLE_SERVER_SIDE_CURSORS"] = PGBOUNCER
        database.setdefault("OPTIONS", {})["prepare_threshold"] = None if PGBOUNCER else 5
DATABASE_ROUTERS = ["config.routers.ReplicaRouter"]
REPLICA_PIN_SECONDS = envint("DJANGO_REPLICA_PIN_SECONDS", 300)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# One cache for every app server when DJANGO_CACHE_URL names a Redis server
# (redis://host:6379/0): reports computed on one machine serve all of them, and API rate
# limits count across machines. Without it each process keeps its own (local memory).
# What is cached (report numbers, table rows, filter panels) is keyed by the code that made
# it too: a deploy that changes the code or a template starts afresh at once, on every
# app server, instead of serving old fragments until they expire.
APPS_WITH_CODE = ["accounts", "config", "core", "engagements", "partners", "reports", "roadmap"]


def code_version(base=BASE_DIR):
    digest = hashlib.sha256()
    for folder in [*APPS_WITH_CODE, "templates"]:
        for path in sorted((base / folder).rglob("*")):
            if path.suffix in (".py", ".html", ".txt") and "migrations" not in path.parts:
                digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


CODE_VERSION = code_version()
CACHE_URL = os.environ.get("DJANGO_CACHE_URL", "").strip()
if CACHE_URL:
    if not CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(
            f"DJANGO_CACHE_URL must be a Redis URL (redis://host:6379/0), not {CACHE_URL!r}."
        )
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": CODE_VERSION,
            "KEY_FUNCTION": "core.cache.make_key",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "KEY_PREFIX": CODE_VERSION,
            "KEY_FUNCTION": "core.cache.make_key",
        }
    }

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First, so that it can refuse a locked-out account before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    # Django's, with permissions read together with the role (one query for both).
    "accounts.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
# The deployment's zone: "today", "this month" and default report periods are its local
# dates (timezone.localdate()); times are stored in UTC.
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "").strip() or "UTC"
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(
        f"DJANGO_TIME_ZONE: {TIME_ZONE!r} is not a time zone name (e.g. Asia/Jakarta)."
    ) from None
USE_I18N = True
USE_TZ = True
# One date format on every page (config/formats): the deployment's, ISO 8601 by default.
# Links, form values and downloads always carry ISO dates, whatever this says.
TRACKER_DATE_FORMAT = os.environ.get("DJANGO_DATE_FORMAT", "").strip() or "Y-m-d"
FORMAT_MODULE_PATH = ["config.formats"]
DATE_FORMAT = SHORT_DATE_FORMAT = TRACKER_DATE_FORMAT  # where no language is active
DATETIME_FORMAT = SHORT_DATETIME_FORMAT = f"{TRACKER_DATE_FORMAT} H:i"

# Mail (the weekly digest, `manage.py send_digest`): EMAIL_URL as dj-email-url reads it,
# e.g. smtp://user:password@mail.example.org:587/?tls=True&_default_from_email=tracker@example.org
# (console:// prints every message on standard output: the default).
EMAIL_URL = os.environ.get("EMAIL_URL", "").strip() or "console://"
_email = dj_email_url.parse(EMAIL_URL)
if "EMAIL_BACKEND" not in _email:
    raise ImproperlyConfigured(
        f"EMAIL_URL: unknown scheme in {EMAIL_URL.split(':')[0]!r}; use smtp://, "
        "submission://, console://, file://, memory:// or dummy://."
    )
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"] or "localhost"
EMAIL_PORT = _email["EMAIL_PORT"] or 25
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"] or ""
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"] or ""
EMAIL_USE_TLS, EMAIL_USE_SSL = _email["EMAIL_USE_TLS"], _email["EMAIL_USE_SSL"]
EMAIL_TIMEOUT = _email["EMAIL_TIMEOUT"] or 30
EMAIL_FILE_PATH = _email["EMAIL_FILE_PATH"] or None
DEFAULT_FROM_EMAIL = _email.get("DEFAULT_FROM_EMAIL") or os.environ.get(
    "DJANGO_DEFAULT_FROM_EMAIL", "tracker@localhost"
)
# Email leaves the accredited system: it carries nothing marked above this (the digest
# counts what it leaves out), and it goes only over TLS when sent by SMTP (a system check,
# reports/checks.py, and send_digest refuse otherwise).
EMAIL_MAX_MARKING = os.environ.get("DJANGO_EMAIL_MAX_MARKING", "").strip().upper() or "NU"
# Where links in messages point (a command has no request to take the address from).
SITE_URL = os.environ.get("DJANGO_SITE_URL", "").strip().rstrip("/") or "http://127.0.0.1:8000"

# Security ------------------------------------------------------------------------------
# Production (DJANGO_DEBUG off) is HTTPS-only. Behind a reverse proxy that terminates TLS,
# set DJANGO_BEHIND_PROXY=1 (trust its X-Forwarded-Proto) and, if the proxy redirects to
# HTTPS itself, DJANGO_SECURE_SSL_REDIRECT=0.
SECURE_SSL_REDIRECT = envbool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
if envbool("DJANGO_BEHIND_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = 0 if DEBUG else int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not DEBUG
# A session ends after SESSION_IDLE_MINUTES without a request and after SESSION_HOURS in
# any case (accounts/sessions.py).
SESSION_IDLE_MINUTES = envint("DJANGO_SESSION_IDLE_MINUTES", 30)
SESSION_HOURS = envint("DJANGO_SESSION_HOURS", 12)
SESSION_COOKIE_AGE = SESSION_HOURS * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# The system-use notice on the sign-in page, which must be accepted to sign in (NIST AC-8).
USE_NOTICE = os.environ.get(
    "DJANGO_USE_NOTICE",
    "You are about to use the Partnership Engagement Tracker, an alliance information system "
    "that holds information marked up to NATO SECRET. Use it only if you are authorised, and "
    "only for official purposes. Everything you do here, including each sign-in, each record "
    "you read and each file you download, is recorded and may be monitored and audited. "
    "Unauthorised use, or handling its information against its marking, may lead to "
    "disciplinary and legal action. By signing in you accept these terms.",
)
# The audit trail keeps its entries this long (`manage.py prune_audit`).
AUDIT_DAYS = envint("DJANGO_AUDIT_DAYS", 400)
# Database sessions that record their account, so that all of an account's can be ended.
SESSION_ENGINE = "accounts.sessions"
X_FRAME_OPTIONS = "DENY"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],  # no inline script anywhere: every script is a file
        "style-src": ["'self'", "'unsafe-inline'"],  # the admin sets a few style attributes
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Which client address counts (sign-in lockout and API rate limits): REMOTE_ADDR, unless
# the deployment sits behind this many reverse proxies that append to X-Forwarded-For.
# Anything else would let a client choose its own address (core/addresses.py).
TRUSTED_PROXIES = envint("DJANGO_TRUSTED_PROXIES", 0)

# Sign-in throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one
# account from one address, that account's sign-in (page and API token) closes for that
# address for the cool-off period; failures during it are not recorded, so it is never
# extended. Per account alone would let anyone keep anyone out; per address alone would
# lock a whole office behind one NAT after a few typos. One address is also capped at
# ADDRESS_FAILURE_LIMIT failures in any cool-off period, whatever the accounts (password
# spraying): accounts/lockout.py.
AXES_FAILURE_LIMIT = envint("DJANGO_AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=envint("DJANGO_AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
ADDRESS_FAILURE_LIMIT = envint("DJANGO_ADDRESS_FAILURE_LIMIT", 30)
AXES_HANDLER = "accounts.lockout.LockoutHandler"
AXES_CLIENT_IP_CALLABLE = "core.addresses.client_address"  # instead of django-ipware
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_VERBOSE = False
# A wrong second-factor code counts as a failed sign-in too (accounts/mfa.py); never logged.
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "otp"]

# Second factor (accounts/mfa.py): who must have one, "all", "admins" (the admin role and
# superusers) or "none"; whoever has one is asked for it at every sign-in all the same.
MFA_REQUIRED = os.environ.get("DJANGO_MFA_REQUIRED", "").strip().lower() or "all"
if MFA_REQUIRED not in ("all", "admins", "none"):
    raise ImproperlyConfigured(
        f"DJANGO_MFA_REQUIRED must be all, admins or none, not {MFA_REQUIRED!r}."
    )
OTP_TOTP_ISSUER = "Partnership Engagement Tracker"  # the name authenticator apps show
# Passkeys are bound to a host name, never an IP address: by default the host of
# DJANGO_SITE_URL, or localhost (http://localhost:8000) while it is the local default.
_site_host = urlsplit(SITE_URL).hostname or ""
try:
    ipaddress.ip_address(_site_host)
    _site_is_a_name = False
except ValueError:
    _site_is_a_name = bool(_site_host)
OTP_WEBAUTHN_RP_ID = os.environ.get("DJANGO_WEBAUTHN_RP_ID", "").strip() or (
    _site_host if _site_is_a_name else "localhost"
)
OTP_WEBAUTHN_RP_NAME = "Partnership Engagement Tracker"
OTP_WEBAUTHN_ALLOWED_ORIGINS = envlist("DJANGO_WEBAUTHN_ORIGINS") or [
    SITE_URL if _site_is_a_name else "http://localhost:8000"
]
# Passkeys are a second factor here, after the password (and its lockout), never instead.
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False

# Request bodies. A view takes at most DATA_UPLOAD_MAX_MEMORY_SIZE bytes unless it says
# more (core.uploads.body_limit: the import page); a larger body is refused from its
# Content-Length before it is read (config.middleware.BodyLimitMiddleware). An uploaded
# file is held in memory up to the import page's limit, on disk beyond it.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # Django's default, said here
FILE_UPLOAD_MAX_MEMORY_SIZE = 1_000_000  # engagements.importer.IMPORT_MAX_BYTES

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns at start-up when it is missing
# Files the app writes (export jobs' spreadsheets): never served from a URL of their own,
# only through a view that asks the gate.
MEDIA_ROOT = Path(os.environ.get("DJANGO_MEDIA_ROOT", BASE_DIR / "var" / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so that a call without credentials gets 401 with WWW-Authenticate.
        "accounts.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.permissions.HasRole"],
    # Our JSON parser answers any unparseable body 400 (deep nesting, 1e400, too large).
    "DEFAULT_PARSER_CLASSES": [
        "core.api.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "core.api.PageNumberPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["core.throttling.AnonRateThrottle"],
    "NUM_PROXIES": TRUSTED_PROXIES,  # core.throttling counts by core/addresses.py
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("DJANGO_API_ANON_RATE", "60/min"),
        "token": os.environ.get("DJANGO_API_TOKEN_RATE", "10/min"),
    },
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

# Background jobs (jobs/services.py) through Django's task API (django-tasks): queued in the
# database by default (SQLite too) and run by `manage.py worker`; with DJANGO_TASKS_URL
# (redis://host:6379/1) on RQ, whose workers may run on any machine. A failed job is tried
# again JOBS_MAX_ATTEMPTS times in all, JOBS_RETRY_SECONDS × its attempts later; a running
# job that moved no further for JOBS_LEASE_SECONDS is taken for abandoned and queued again
# when a worker starts.
TASKS_URL = os.environ.get("DJANGO_TASKS_URL", "").strip()
if TASKS_URL:
    if not TASKS_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(
            f"DJANGO_TASKS_URL must be a Redis URL (redis://host:6379/1), not {TASKS_URL!r}."
        )
    INSTALLED_APPS.append("django_rq")
    RQ_QUEUES = {"default": {"URL": TASKS_URL, "DEFAULT_TIMEOUT": 3600}}
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
JOBS_MAX_ATTEMPTS = envint("DJANGO_JOBS_MAX_ATTEMPTS", 3)
JOBS_RETRY_SECONDS = envint("DJANGO_JOBS_RETRY_SECONDS", 10)
JOBS_LEASE_SECONDS = envint("DJANGO_JOBS_LEASE_SECONDS", 600)
# An engagement list's XLSX of more rows than this is written by a background job (its page
# shows progress, then the file); the file is kept EXPORT_KEEP_HOURS for its starter.
XLSX_JOB_ROWS = envint("DJANGO_XLSX_JOB_ROWS", 20_000)
# The largest file an engagement takes, in MB (refused from its Content-Length first).
ATTACHMENT_MAX_MB = envint("DJANGO_ATTACHMENT_MAX_MB", 25)
EXPORT_KEEP_HOURS = envint("DJANGO_EXPORT_KEEP_HOURS", 24)

# API tokens (django-rest-knox): `Authorization: Token <key>`, only a hash of the key is
# stored, it expires after TOKEN_HOURS and POST /api/v1/auth/logout/ revokes it.
TOKEN_HOURS = envint("DJANGO_TOKEN_HOURS", 8)
KNOX_TOKEN_MODEL = "knox.AuthToken"  # knox's own; named for the migrations that point at it
REST_KNOX = {
    "TOKEN_TTL": datetime.timedelta(hours=TOKEN_HOURS),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Partnership Engagement Tracker API",
    "DESCRIPTION": "Engagements, partners, the roadmap and its reports (see CONTRACT.md).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["core.permissions.HasRole"],  # no anonymous reading either
    "SWAGGER_UI_DIST": "SIDECAR",  # served by the app itself: no CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Engagements, notes and reports name markings with one choice set: one enum.
    "ENUM_NAME_OVERRIDES": {
        "MarkingEnum": "accounts.choices.Marking",
        "EngagementKindEnum": "engagements.choices.EngagementKind",
        "EngagementStatusEnum": "engagements.choices.EngagementStatus",
        "NotificationKindEnum": "notifications.choices.NotificationKind",
    },
}

# The audit trail's entries, one JSON line each, on standard output for a log collector
# (accounts/audit.py); everything else as Django logs it.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"line": {"format": "%(message)s"}},
    "handlers": {"audit": {"class": "logging.StreamHandler", "formatter": "line"}},
    "loggers": {"audit": {"handlers": ["audit"], "level": "INFO", "propagate": False}},
}
