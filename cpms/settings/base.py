"""CPMS settings, read from the environment (README: "Configuration").

The embedded default (no DATABASE_URL, no REDIS_URL) is a SQLite file and in-process tasks, so a newcomer
runs the whole flow with `make demo`; production points DATABASE_URL at PostgreSQL and REDIS_URL at Redis.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("CPMS_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY") or ""
if not SECRET_KEY:
    if DEBUG or env_bool("CPMS_ALLOW_INSECURE_KEY"):
        SECRET_KEY = "insecure-development-key-do-not-use-in-production"
    else:
        raise ImproperlyConfigured("SECRET_KEY is not set. Set it in the environment (README: Configuration).")

ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "django_filters",
    "guardian",
    "auditlog",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "cpms.core",
    "cpms.accounts",
    "cpms.queries",
    "cpms.cis",
    "cpms.disclosure",
    "cpms.partner_requests",
    "icts",
    "ident_bridge",
    "cpms.audit",
    "cpms.privacy",
    "cpms.ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "cpms.core.middleware.SecurityHeadersMiddleware",
    "cpms.core.middleware.RejectNulMiddleware",
    "cpms.core.middleware.ApiUriLengthMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    "cpms.accounts.middleware.SessionTimeoutMiddleware",
    "cpms.accounts.mfa.SecondFactorRequiredMiddleware",
    "cpms.core.middleware.SystemUseNotificationMiddleware",
    "cpms.core.middleware.DomainErrorMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "cpms.urls"
WSGI_APPLICATION = "cpms.wsgi.application"

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
                "cpms.core.context_processors.cpms",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'cpms.sqlite3'}"
# Health checks: a kept connection that a database restart broke is replaced before it is used, not answered 503.
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker) share the embedded file: wait for locks, take them up front.
    DATABASES["default"]["OPTIONS"] = {"timeout": 30, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked account or address before the password is checked
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# NIST SP 800-63B: length over composition, no common or context-specific passwords, no periodic expiry.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "cpms.accounts.validators.NotRepetitiveValidator"},
    {"NAME": "cpms.accounts.validators.NotGuessableValidator"},
]
# Lockout (django-axes): ten failures in a row lock the account, and separately the address, for the cool-off;
# an administrator can unlock earlier (admin: Access attempts). Every attempt is on record (cpms.accounts.AuthEvent).
AXES_FAILURE_LIMIT = int(env_float("LOGIN_FAILURE_LIMIT", 10))
AXES_COOLOFF_TIME = timedelta(minutes=env_float("LOGIN_COOLOFF_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "cpms.accounts.views.locked_out"
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_VERBOSE = False
# Sessions (OWASP ASVS 3.3): 15 minutes idle (a warning a minute before, with a way to stay), 12 hours at most,
# a new session id at sign-in (Django), at most three at once per user.
SESSION_IDLE_SECONDS = int(env_float("SESSION_IDLE_SECONDS", 15 * 60))
SESSION_ABSOLUTE_SECONDS = int(env_float("SESSION_ABSOLUTE_SECONDS", 12 * 3600))
SESSION_LIMIT_PER_USER = int(env_float("SESSION_LIMIT_PER_USER", 3))
# The second factor (django-otp): TOTP for everyone, enrolled at the first sign-in. OTP_TOTP_ISSUER names CPMS in the app.
OTP_TOTP_ISSUER = "CPMS (USCIS)"
# The seam for PIV or SSO at the proxy: the META key of a header the proxy sets to "verified" after its own check
# (and strips from clients), e.g. HTTP_X_CPMS_PIV_VERIFIED. Empty (the default): every user enters a code.
MFA_TRUSTED_PROXY_HEADER = os.environ.get("MFA_TRUSTED_PROXY_HEADER", "")
# API tokens: issued for a password, a current code and the accepted system-use notification; each issue replaces the
# last; they expire after this; signing out revokes them.
API_TOKEN_TTL_HOURS = env_float("API_TOKEN_TTL_HOURS", 8.0)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "signed-out"
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_SECONDS
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG and env_bool("HTTPS", False))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Behind the TLS-terminating proxy of the README's production section (HTTPS=1): redirect plain HTTP, trust the
# proxy's X-Forwarded-Proto (it must overwrite the header clients send), and tell browsers to use HTTPS only.
HTTPS = env_bool("HTTPS", False)
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the load balancer's probe speaks plain HTTP to the backend
    SECURE_HSTS_SECONDS = int(env_float("HSTS_SECONDS", 31_536_000))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Content-Security-Policy (django-csp): no inline script or style anywhere; files are same-origin; images may be
# data: URIs (the MFA enrolment QR code). The API's Swagger page loads its start-up script as a file (SpectacularSwaggerSplitView).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

LANGUAGE_CODE = "en-us"
FORMAT_MODULE_PATH = ["cpms.formats"]  # one date format everywhere (cpms/formats/en/formats.py)
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(os.environ.get("CPMS_MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = None  # partner files are never served directly: only through access-checked views
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(MEDIA_ROOT)}},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 26 * 1024 * 1024  # ICD §1: bodies up to 25 MiB are accepted

# --- REST API -------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its WWW-Authenticate header makes a missing or bad credential a 401, not a 403.
        "cpms.accounts.authentication.ExpiringTokenAuthentication",
        "cpms.accounts.authentication.VerifiedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON bodies only (the upload names its own multipart parser): one encoding per operation, so a JSON integer is an
    # integer and a form's "42" never has to be read as one (the schema documents exactly this).
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "cpms.core.pagination.PageNumberNoCount",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "cpms.core.problems.api_exception_handler",
    # Limits: per signed-in user, per address for anonymous requests, and a tight one on the token endpoint (on top of
    # django-axes' lockout). A 429 is a problem document with Retry-After.
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle", "rest_framework.throttling.AnonRateThrottle",
                                 "rest_framework.throttling.ScopedRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": os.environ.get("API_RATE_USER", "1200/min"),
                               "anon": os.environ.get("API_RATE_ANON", "120/min"),
                               "token": os.environ.get("API_RATE_TOKEN", "20/min")},
}
# The throttles' counters live in each process (so a limit applies per gunicorn worker): not in Redis, because an API
# that answered 500 while Redis restarts would break the promise that Redis is only the fast path (docs/reliability.md).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
SPECTACULAR_SETTINGS = {
    "TITLE": "CPMS international information sharing API",
    "DESCRIPTION": "Officer-facing API of the Customer Profile Management System (cases and international queries).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI's assets come from the sidecar package, served by us: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Request bodies get components of their own ("...Request"): a file is then `format: binary` (what a multipart
    # upload carries), not the URL a response would give, and read-only fields are not offered as input.
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "cpms.core.openapi.add_problem_responses"],
    "ENUM_NAME_OVERRIDES": {
        "ReasonEnum": "cpms.queries.models.REASON_CHOICES",
        "PriorityEnum": "cpms.queries.models.PRIORITY_CHOICES",
        "QueryStatusEnum": "cpms.queries.workflow.QueryStatus",
        "RequestStatusEnum": "cpms.partner_requests.workflow.RequestStatus",
        "IctsCaseStatusEnum": "icts.workflow.CaseStatus",
    },
}

# --- guardian ----------------------------------------------------------------------------------------------
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

# --- IDENT --------------------------------------------------------------------------------------------------
IDENT_URL = os.environ.get("IDENT_URL", "http://127.0.0.1:8001/ident/v1").rstrip("/")
IDENT_SHARED_SECRET = os.environ.get("IDENT_SHARED_SECRET", "")
if not IDENT_SHARED_SECRET:
    if DEBUG or env_bool("CPMS_ALLOW_INSECURE_KEY"):
        IDENT_SHARED_SECRET = "demo-shared-secret"
    else:
        raise ImproperlyConfigured("IDENT_SHARED_SECRET is not set (README: Configuration).")
IDENT_TIMEOUT_SECONDS = env_float("IDENT_TIMEOUT_SECONDS", 10.0)
# ICD §1: retry for at least 24 hours; after this horizon a message is marked failed and shown to admins.
OUTBOX_RETRY_HORIZON_HOURS = env_float("OUTBOX_RETRY_HORIZON_HOURS", 48.0)
OUTBOX_BACKOFF_BASE_SECONDS = env_float("OUTBOX_BACKOFF_BASE_SECONDS", 2.0)
OUTBOX_BACKOFF_MAX_SECONDS = env_float("OUTBOX_BACKOFF_MAX_SECONDS", 900.0)
# A relay that claimed a message and died is presumed dead after this lease; the message is sent again
# (same message_id: IDENT answers 200 to the duplicate, so nothing is processed twice).
OUTBOX_LEASE_SECONDS = env_float("OUTBOX_LEASE_SECONDS", 60.0)
INBOUND_STALE_SECONDS = env_float("INBOUND_STALE_SECONDS", 30.0)
QUERY_ROUND_OVERDUE_HOURS = env_float("QUERY_ROUND_OVERDUE_HOURS", 72.0)

# --- CIS / PCQS and partner requests ------------------------------------------------------------------------
PCQS_URL = os.environ.get("PCQS_URL", "").rstrip("/")  # unset: the local CIS index (edited in admin)
PCQS_TOKEN = os.environ.get("PCQS_TOKEN", "")
PCQS_TIMEOUT_SECONDS = env_float("PCQS_TIMEOUT_SECONDS", 5.0)
PCQS_RETRY_SECONDS = env_float("PCQS_RETRY_SECONDS", 60.0)
# CIS unreachable or incomplete for this long: the request goes to a privacy officer. Never shared by default.
PCQS_REFER_AFTER_HOURS = env_float("PCQS_REFER_AFTER_HOURS", 24.0)
# ICTS due dates from the partner's priority, in days.
ICTS_DUE_DAYS = {
    "high": env_float("ICTS_DUE_DAYS_HIGH", 2.0),
    "medium": env_float("ICTS_DUE_DAYS_MEDIUM", 5.0),
    "low": env_float("ICTS_DUE_DAYS_LOW", 10.0),
}
ICTS_UPLOAD_MAX_BYTES = int(env_float("ICTS_UPLOAD_MAX_BYTES", 10 * 1024 * 1024))  # ICD §7: 10 MiB per attachment

# --- Audit ---------------------------------------------------------------------------------------------------
# The key of the audit chain's HMAC. Keep it out of the database (a secret store); changing it makes the
# existing chain fail verification, so it is rotated only with a documented re-anchoring.
AUDIT_CHAIN_KEY = os.environ.get("AUDIT_CHAIN_KEY", "")
if not AUDIT_CHAIN_KEY:
    if DEBUG or env_bool("CPMS_ALLOW_INSECURE_KEY"):
        AUDIT_CHAIN_KEY = SECRET_KEY  # development and tests only
    else:
        raise ImproperlyConfigured("AUDIT_CHAIN_KEY is not set: the audit chain needs its own key, kept outside the database "
                                   "(README: Configuration).")

# The chain's head is anchored outside the audit tables (cpms.audit.anchor): an append-only file, in production on
# storage the database's owners cannot rewrite.
# Development falls back to var/; production must say where it is (`check --deploy` fails otherwise: cpms.audit.E001),
# since a file beside the database, on storage its owners can rewrite, anchors nothing.
AUDIT_ANCHOR_FILE_SET = bool(os.environ.get("AUDIT_ANCHOR_FILE"))
AUDIT_ANCHOR_FILE = os.environ.get("AUDIT_ANCHOR_FILE") or str(VAR_DIR / "audit-anchors.jsonl")
AUDIT_ANCHOR_SECONDS = env_float("AUDIT_ANCHOR_SECONDS", 300.0)

# --- Celery -------------------------------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
SWEEP_INTERVAL_SECONDS = env_float("SWEEP_INTERVAL_SECONDS", 10.0)
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# Without Redis, tasks run in-process right after commit; `manage.py cpms_worker` runs the sweeps.
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Longer than any countdown we schedule (OUTBOX_BACKOFF_MAX_SECONDS), so Redis never redelivers a
# message that is only waiting for its ETA.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 6 * 3600, "socket_connect_timeout": 2.0, "socket_timeout": 5.0}
# With Redis down, publishing fails within about two seconds instead of hanging a page: the write is committed
# already and the sweeps do the work once Redis is back (ident_bridge.publish).
CELERY_BROKER_CONNECTION_TIMEOUT = 2.0
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}
# A worker started while Redis is down keeps trying (Celery 5.3+ asks for the start-up retry to be explicit).
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "cpms"
CELERY_BEAT_SCHEDULE = {
    "outbox-relay-due": {"task": "ident_bridge.tasks.outbox_sweep", "schedule": SWEEP_INTERVAL_SECONDS},
    "inbound-process-stale": {"task": "ident_bridge.tasks.inbound_sweep", "schedule": SWEEP_INTERVAL_SECONDS},
    "queries-flag-overdue": {"task": "cpms.queries.tasks.flag_overdue_rounds", "schedule": 300.0},
    "queries-expire-referrals": {"task": "cpms.queries.tasks.expire_referrals", "schedule": 300.0},
    "requests-recheck-cis": {"task": "cpms.partner_requests.tasks.recheck_due", "schedule": SWEEP_INTERVAL_SECONDS},
    "queries-rescreen-held": {"task": "cpms.queries.tasks.rescreen_due", "schedule": SWEEP_INTERVAL_SECONDS},
    "icts-transmit-due": {"task": "icts.tasks.transmit_due", "schedule": SWEEP_INTERVAL_SECONDS},
    # The anchor first: cpms_worker (the embedded demo) runs every entry once at start, in this order, and a new
    # installation's first verification needs an anchor to vouch for the end of the chain.
    "audit-anchor": {"task": "cpms.audit.tasks.anchor", "schedule": AUDIT_ANCHOR_SECONDS},
    "audit-verify-nightly": {"task": "cpms.privacy.tasks.chain_verify", "schedule": 24 * 3600.0},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "weasyprint": {"level": "WARNING"},
                "fontTools": {"level": "WARNING"}},
}
