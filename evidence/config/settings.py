"""Settings for the living-evidence platform, read from the environment only.

A fresh clone runs with no variables set: SQLite in ``var/`` and kombu's filesystem
broker, so the web server, a Celery worker and Celery beat are real processes without
any server installed. Production sets ``DATABASE_URL`` (PostgreSQL), ``CELERY_BROKER_URL``
(Redis), ``SECRET_KEY`` and ``DEBUG=0``.
"""

from __future__ import annotations

import atexit
import datetime
import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from evidence.config.env import database_from_url, envbool, envint, envlist, envstr, envurl

BASE_DIR = Path(__file__).resolve().parents[2]
if "pytest" in sys.modules and not envstr("EVIDENCE_VAR_DIR"):
    # A test run that names no folder gets its own: its broker folder, result store, throttle files and SQLite
    # test database never meet those of a site running from this checkout (`make run` uses var/), whose worker
    # would otherwise take the tests' tasks. Exported, so the workers a test starts use the same folder.
    os.environ["EVIDENCE_VAR_DIR"] = tempfile.mkdtemp(prefix="evidence-test-")
    atexit.register(shutil.rmtree, os.environ["EVIDENCE_VAR_DIR"], ignore_errors=True)
VAR_DIR = Path(envstr("EVIDENCE_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = envbool("DEBUG", True)


def _secret_key() -> str:
    key = envstr("SECRET_KEY")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (production).")
    # Development only: a per-checkout key kept in var/ so sessions survive restarts.
    key_file = VAR_DIR / "dev_secret_key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "django_celery_beat",
    "simple_history",
    "axes",
    "csp",
    "evidence.apps.EvidenceConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "evidence.config.nul_guard.NulRefusingMiddleware",  # before anything can send a NUL to PostgreSQL
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "evidence.config.urls"
WSGI_APPLICATION = "evidence.config.wsgi.application"

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

DATABASE_URL = envstr("DATABASE_URL", f"sqlite:///{VAR_DIR / 'evidence.sqlite3'}")
DATABASES = {"default": database_from_url(DATABASE_URL)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3") and not Path(DATABASES["default"]["NAME"]).is_absolute():
    DATABASES["default"]["NAME"] = str(BASE_DIR / DATABASES["default"]["NAME"])
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not memory, so a Celery worker started by a test can open the test database too.
    # One file per test process, so two suites run at the same time in one checkout do not collide.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-evidence-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Sign-in: rate-limited per account and per address (django-axes, evidence.config.login_security) ----------
# Axes' backend comes first: it refuses a locked-out sign-in before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "evidence.config.login_security.SignInLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=envint("LOGIN_COOLOFF_MINUTES", 15, minimum=1))
# Two separate counters: failures for one account (from anywhere) and failures from one address (any account).
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "evidence.config.login_security.client_ip"
AXES_LOCKOUT_CALLABLE = "evidence.config.login_security.lockout_response"
AXES_RESET_ON_SUCCESS = False  # a success must not wipe an address's failures against other accounts
AXES_ENABLE_ADMIN = False  # lockouts are reset with manage.py axes_reset*, not through a new admin page
AXES_VERBOSE = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(envstr("STATIC_ROOT", str(VAR_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Uploaded files (full texts of reports) go to the default storage: files under MEDIA_ROOT (the var folder on the
# embedded stack; a volume in docker-compose). MEDIA_URL is deliberately never routed: a full text is read only
# through the workspace view that asks the review policy first, so no public URL can leak a paywalled PDF.
MEDIA_ROOT = Path(envstr("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media-not-served/"
FULL_TEXT_MAX_BYTES = envint("FULL_TEXT_MAX_MB", 50, minimum=1) * 1024 * 1024

# Security: strict in production (DEBUG off); `manage.py check --deploy` is clean there.
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the container health check speaks plain HTTP
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy on every page, public and admin (django-csp): scripts, styles, images and fonts
# from this site only; no inline script or style anywhere (the pages, the admin and /api/docs/ load theirs
# from files), no plugins, no framing, forms post here only. The one hash is django-simple-history's
# history page, whose template has a single inline style attribute (style="border-top: 0").
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, "'unsafe-hashes'", "'sha256-XMXSevYjgSjXgRafBFDvtjwX+yyWLrxfso9DcNZ9UXM='"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

# --- Celery ------------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = envurl("CELERY_BROKER_URL", "filesystem://", schemes=("filesystem", "redis", "rediss", "memory"))
USES_REDIS = CELERY_BROKER_URL.startswith(("redis://", "rediss://"))
CELERY_RESULT_BACKEND = envstr(
    "CELERY_RESULT_BACKEND", CELERY_BROKER_URL if USES_REDIS else f"file://{VAR_DIR / 'results'}"
)
# The longest task (a search of a large window; a recompute takes seconds) is stopped at TASK_TIME_LIMIT; a
# message unacknowledged for VISIBILITY_TIMEOUT is delivered again, so it must outlast the longest task with its
# countdown. A worker that dies sooner is found by its run's heartbeat within two minutes (evidence.runs_sweep).
CELERY_TASK_TIME_LIMIT = envint("CELERY_TASK_TIME_LIMIT", 3600, minimum=60)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 30
CELERY_VISIBILITY_TIMEOUT = 2 * CELERY_TASK_TIME_LIMIT
# Publishing fails fast when the broker is down (one quick retry, 2 s to connect): a request never hangs on
# Redis; the work is a queued row that the sweeper publishes when the broker is back.
_PUBLISH_FAST = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT, "socket_connect_timeout": 2, **_PUBLISH_FAST}
    if USES_REDIS
    else {
        "data_folder_in": str(BROKER_DIR / "out"),
        "data_folder_out": str(BROKER_DIR / "out"),
        "processed_folder": str(BROKER_DIR / "processed"),
        # kombu's default is "control" in the working directory: the exchange tables then leave var/ and are shared
        # by every process started from the checkout.
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
)
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_REDIS_BACKEND_HEALTH_CHECK_INTERVAL = 30
RECOMPUTE_DEBOUNCE_SECONDS = envint("RECOMPUTE_DEBOUNCE_SECONDS", 10, minimum=0)
# A running run's worker touches it every RUN_HEARTBEAT_SECONDS; silent for RUN_STALE_AFTER_SECONDS, it is lost
# and the sweeper (every minute) re-runs or fails it.
RUN_HEARTBEAT_SECONDS = envint("RUN_HEARTBEAT_SECONDS", 10, minimum=1)
RUN_STALE_AFTER_SECONDS = envint("RUN_STALE_AFTER_SECONDS", 120, minimum=2)
if RUN_STALE_AFTER_SECONDS <= 2 * RUN_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured(
        "RUN_STALE_AFTER_SECONDS must exceed twice RUN_HEARTBEAT_SECONDS, or live runs look lost."
    )

# --- NCBI E-utilities ----------------------------------------------------------
EUTILS_BASE_URL = envurl("EUTILS_BASE_URL", "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/", schemes=("http", "https"))
NCBI_API_KEY = envstr("NCBI_API_KEY")
NCBI_EMAIL = envstr("NCBI_EMAIL", "living-evidence@example.org")
NCBI_TOOL = envstr("NCBI_TOOL", "msc-ssc-living-evidence")
EUTILS_TIMEOUT_SECONDS = envint("EUTILS_TIMEOUT_SECONDS", 30, minimum=1)

# --- ClinicalTrials.gov API v2 (registry surveillance) ----------------------------------------------------
CTGOV_BASE_URL = envurl("CTGOV_BASE_URL", "https://clinicaltrials.gov/api/v2/", schemes=("http", "https"))
if not CTGOV_BASE_URL.endswith("/"):
    raise ImproperlyConfigured(f"CTGOV_BASE_URL={CTGOV_BASE_URL!r} must end with / (studies is appended).")
CTGOV_TIMEOUT_SECONDS = envint("CTGOV_TIMEOUT_SECONDS", 30, minimum=1)

# --- Public exports ----------------------------------------------------------------
# The site's public address: FHIR full URLs, identifiers and page links name it, not the host a request came on,
# so the worker writes a version's FHIR pages once at publication and every request serves those bytes.
EVIDENCE_PUBLIC_BASE_URL = envurl("EVIDENCE_PUBLIC_BASE_URL", "http://localhost:8000", schemes=("http", "https"))
if EVIDENCE_PUBLIC_BASE_URL.endswith("/"):
    raise ImproperlyConfigured(f"EVIDENCE_PUBLIC_BASE_URL={EVIDENCE_PUBLIC_BASE_URL!r} must not end with /.")
# Entries per page of a version's FHIR Bundle (the stored pages; ``_count`` may ask for fewer, never more):
# ~1,000 entries are ~5 MB of JSON, ~0.4 MB gzipped.
EVIDENCE_FHIR_PAGE_SIZE = envint("EVIDENCE_FHIR_PAGE_SIZE", 1000, minimum=10)

# --- REST API --------------------------------------------------------------------
# Public and read-only: anyone may read; a registry's token (created in the admin) only raises its quota.
# Rates are "<n>/<second|minute|hour|day>"; a deployment sets API_THROTTLE_ANON / API_THROTTLE_REGISTRY.
# API_NUM_PROXIES: reverse proxies in front (0 = throttle by REMOTE_ADDR, never by a client's X-Forwarded-For).
API_THROTTLE_RATES = {
    "anon": envstr("API_THROTTLE_ANON", "60/minute"),
    "registry": envstr("API_THROTTLE_REGISTRY", "600/minute"),
}
for _scope, _rate in API_THROTTLE_RATES.items():
    _count, _, _period = _rate.partition("/")
    if not (_count.isdigit() and _period[:1] in {"s", "m", "h", "d"}):
        raise ImproperlyConfigured(f"API_THROTTLE_{_scope.upper()}={_rate!r} is not a rate like 60/minute.")
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "evidence.api.schema.ApiAutoSchema",
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.TokenAuthentication"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "evidence.publishing.formats.renderers.StrictContentNegotiation",
    "DEFAULT_FILTER_BACKENDS": ["evidence.api.filters.StrictFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "evidence.api.pagination.StableCursorPagination",
    "DEFAULT_THROTTLE_CLASSES": ["evidence.api.throttling.AnonThrottle", "evidence.api.throttling.RegistryThrottle"],
    "DEFAULT_THROTTLE_RATES": API_THROTTLE_RATES,
    "NUM_PROXIES": envint("API_NUM_PROXIES", 0, minimum=0),
    "COERCE_DECIMAL_TO_STRING": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Living evidence: MSC therapy in systemic sclerosis",
    "DESCRIPTION": (
        "Read-only access to the published evidence of each living review: versions, pooled results (JSON, CSV, "
        "FHIR R5), studies, citations (JSON, CSV, RIS) and outcomes. Every answer has an ETag and a Last-Modified "
        "for conditional requests (304). Lists are cursor-paginated; unknown query parameters are a 400. "
        "Anonymous clients are throttled; registries authenticate with `Authorization: Token <key>` for a higher "
        "quota. Human-readable docs: /api/docs/."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "StudyDesignEnum": "evidence.models.StudyDesign",
        "CertaintyEnum": "evidence.models.Certainty",
    },
}

SIMPLE_HISTORY_REVERT_DISABLED = True  # the audit trail is read-only: history is shown, never reverted

# "throttle" names where the API's quota counters live (evidence.api.quota), shared by every web worker: Redis in
# production (one INCR per request), files in var/ on the embedded stack (one byte appended per request, atomic on a
# local file system). Issue 15 suggested the database cache there; files are shared just as well by every process
# of the host (the embedded stack is one host by definition) without adding a write, and on SQLite the database's
# write lock, to every API request.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "throttle": (
        {
            "BACKEND": "evidence.config.redis_cache.RedisCache",
            "LOCATION": CELERY_BROKER_URL,
            "KEY_PREFIX": "throttle",
        }
        if USES_REDIS
        else {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "throttle"),
        }
    ),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
}
