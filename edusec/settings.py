"""EduSec settings.

Every setting an operator may change comes from an environment variable (listed in README.md, "Configuration").
The defaults are safe for the embedded single-machine mode: SQLite under ``EDUSEC_DATA_DIR``, DEBUG off, a secret key
generated once and kept in the data directory, loopback-only allowed hosts.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


DATA_DIR = Path(env("EDUSEC_DATA_DIR", str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _persistent_secret(filename: str, nbytes: int) -> str:
    """A random secret created on first start and kept (mode 0600) in the data directory."""
    path = DATA_DIR / filename
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(nbytes))
    return path.read_text().strip()


SECRET_KEY = env("EDUSEC_SECRET_KEY") or _persistent_secret("secret_key", 32)
SECRET_KEY_FROM_ENV = bool(env("EDUSEC_SECRET_KEY"))
# Key for SM4 encryption of sensitive personal fields (hex, 16 bytes). Kept apart from SECRET_KEY so that rotating the
# session signing key never makes stored phone numbers unreadable.
FIELD_ENCRYPTION_KEY = env("EDUSEC_FIELD_KEY") or _persistent_secret("field_key", 16)

DEBUG = env_bool("EDUSEC_DEBUG", False)
ALLOWED_HOSTS = [h.strip() for h in env("EDUSEC_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in env("EDUSEC_CSRF_TRUSTED_ORIGINS").split(",") if o.strip()]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_tables2",
    "django_htmx",
    "treebeard",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "core",
    "orgs",
    "assets",
    "findings",
    "monitoring",
    "notices",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "core.middleware.RequestContextMiddleware",
    "core.middleware.AccountPolicyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "edusec.urls"
WSGI_APPLICATION = "edusec.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.platform",
            ],
        },
    },
]

# Database: SQLite (WAL, immediate transactions so that writers queue instead of failing) unless DATABASE_URL is set.
if env("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(env("DATABASE_URL"), conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "edusec.sqlite3",
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
                    "PRAGMA cache_size=-32000;"  # 32 MB of page cache (default 2 MB) for large imports
                ),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "orgs.User"
EDUSEC_UNIT_MODEL = "orgs.Unit"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Identification and authentication (domain.md §10).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "core.hashers.PBKDF2SM3PasswordHasher",
]
if env_bool("EDUSEC_PASSWORD_HASH_SM3", False):
    PASSWORD_HASHERS.reverse()
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "core.passwords.CharacterClassValidator", "OPTIONS": {"min_classes": 3}},
    {"NAME": "core.passwords.PasswordHistoryValidator", "OPTIONS": {"history": 3}},
]
EDUSEC_PASSWORD_MAX_AGE_DAYS = env_int("EDUSEC_PASSWORD_MAX_AGE_DAYS", 90)
EDUSEC_REQUIRE_2FA = env_bool("EDUSEC_REQUIRE_2FA", True)
EDUSEC_IDLE_TIMEOUT_MINUTES = env_int("EDUSEC_IDLE_TIMEOUT_MINUTES", 30)
EDUSEC_API_TOKEN_TTL_HOURS = env_int("EDUSEC_API_TOKEN_TTL_HOURS", 12)
EDUSEC_DEMO = env_bool("EDUSEC_DEMO", False)

AXES_FAILURE_LIMIT = env_int("EDUSEC_LOCKOUT_FAILURES", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("EDUSEC_LOCKOUT_MINUTES", 10))
# Lock the account, not the address: many schools sit behind one NAT address, and locking it would lock them all.
AXES_LOCKOUT_PARAMETERS = ["username"]
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "core.views.auth.lockout_response"
AXES_VERBOSE = False
AXES_ENABLE_ACCESS_FAILURE_LOG = False

SESSION_COOKIE_AGE = EDUSEC_IDLE_TIMEOUT_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True  # sliding expiry: the timeout counts from the last request, i.e. idle time
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
if env_bool("EDUSEC_HTTPS", False):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("EDUSEC_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("EDUSEC_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "core:login"

# Internationalisation: Simplified Chinese by default, English complete.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("EDUSEC_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise expects it even before the first collectstatic
MEDIA_ROOT = DATA_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # serve straight from app static dirs when collectstatic has not run (tests, dev)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.api.authentication.ExpiringTokenAuthentication",
        "core.api.authentication.OTPSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.api.permissions.RestrictedModelPermissions"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exceptions.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "EduSec API",
    "DESCRIPTION": "教育网络安全与信息化监管平台 REST API. Every endpoint is scoped to the caller's unit subtree.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # One name per shared choice set in the schema.
    "ENUM_NAME_OVERRIDES": {
        "LocalizationEnum": "assets.models.ledger.Localization",
        "ChildSafeguardStateEnum": "assets.models.ledger.ChildSafeguardState",
        "MLPSLevelEnum": "assets.models.ledger.MLPS_LEVEL_CHOICES",
        "MLPSStateEnum": "assets.mlps.STATES",
        "DataLevelEnum": "assets.mlps.DATA_LEVELS",
        "NoticeKindEnum": "notices.models.NoticeKind",
    },
}

DJANGO_TABLES2_TEMPLATE = "core/table.html"
DJANGO_TABLES2_PAGE_RANGE = 8

# Background tasks: in-process unless a broker is configured (then Celery workers on it).
EDUSEC_BROKER_URL = env("EDUSEC_BROKER_URL")
EDUSEC_TASK_THREADS = env_int("EDUSEC_TASK_THREADS", 4)
EDUSEC_TASKS_EAGER = env_bool("EDUSEC_TASKS_EAGER", False)  # run tasks in the caller's thread (debugging, tests)
CELERY_BROKER_URL = EDUSEC_BROKER_URL or "memory://"
CELERY_RESULT_BACKEND = env("EDUSEC_RESULT_BACKEND", EDUSEC_BROKER_URL) or None
# The queue tasks are sent to (two installations sharing one Redis keep apart; workers: edusec worker -Q <queue>).
CELERY_TASK_DEFAULT_QUEUE = env("EDUSEC_CELERY_QUEUE", "celery")
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# E-mail (a notification channel, core/channels): Django's e-mail backends, SMTP settings from the environment.
EMAIL_BACKEND = env("EDUSEC_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EDUSEC_SMTP_HOST", "localhost")
EMAIL_PORT = env_int("EDUSEC_SMTP_PORT", 25)
EMAIL_HOST_USER = env("EDUSEC_SMTP_USER")
EMAIL_HOST_PASSWORD = env("EDUSEC_SMTP_PASSWORD")
EMAIL_USE_SSL = env_bool("EDUSEC_SMTP_SSL", False)  # implicit TLS (port 465)
EMAIL_USE_TLS = env_bool("EDUSEC_SMTP_TLS", False) and not EMAIL_USE_SSL  # STARTTLS; Django refuses both at once
EMAIL_TIMEOUT = env_int("EDUSEC_SMTP_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env("EDUSEC_MAIL_FROM", "edusec@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EDUSEC_MAIL_SUBJECT_PREFIX = env("EDUSEC_MAIL_SUBJECT_PREFIX", "[EduSec] ")

# Notification channels (core/channels, docs/channels.md). The package is also a small app of its own (label
# "core_channels"): it registers its pages, tasks and template tags at start-up; its models live in core/models.py.
INSTALLED_APPS += ["core.channels.apps.ChannelsConfig"]
EDUSEC_CHANNEL_MAX_ATTEMPTS = max(1, env_int("EDUSEC_CHANNEL_MAX_ATTEMPTS", 5))  # first try included
EDUSEC_CHANNEL_BACKOFF_SECONDS = float(env("EDUSEC_CHANNEL_BACKOFF_SECONDS", "30"))  # 30 s, 60 s, 120 s, …
EDUSEC_CHANNEL_BACKOFF_MAX_SECONDS = float(env("EDUSEC_CHANNEL_BACKOFF_MAX_SECONDS", "3600"))
EDUSEC_CHANNEL_TIMEOUT = float(env("EDUSEC_CHANNEL_TIMEOUT", "10"))  # seconds per HTTP request to a robot/webhook
EDUSEC_CHANNEL_PROXY = env("EDUSEC_CHANNEL_PROXY")  # e.g. http://proxy.internal:3128; empty: connect directly
# Robots and webhooks on public addresses are contacted only when allowed: never in the demo or the tests.
EDUSEC_CHANNEL_ALLOW_PUBLIC = env_bool("EDUSEC_CHANNEL_ALLOW_PUBLIC", not EDUSEC_DEMO)
# Absolute address of this installation, for links in e-mails and robot messages; empty: http://EDUSEC_HOST:EDUSEC_PORT
EDUSEC_SITE_URL = env("EDUSEC_SITE_URL").rstrip("/")
# Port of the demo's local stand-in for the robots (started by `edusec run` in demo mode; core/channels/services.py).
EDUSEC_DEMO_RECEIVER_PORT = env_int("EDUSEC_DEMO_RECEIVER_PORT", 18090)
# One name per channel choice set in the API schema (event types are registered by the apps at start-up).
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {"ChannelKindEnum": "core.models.ChannelKind", "EventTypeEnum": "core.channels.events.event_choices"}
)

EDUSEC_AUDIT_RETENTION_DAYS = env_int("EDUSEC_AUDIT_RETENTION_DAYS", 365)
EDUSEC_MAX_UPLOAD_MB = env_int("EDUSEC_MAX_UPLOAD_MB", 20)

# MLPS rules (domain.md §2; assets/policy.py). Intervals are "level:months" lists.
EDUSEC_MLPS_IMPORTANT_DATA_FLOOR = env_int("EDUSEC_MLPS_IMPORTANT_DATA_FLOOR", 3) or None
EDUSEC_MLPS_CORE_DATA_FLOOR = env_int("EDUSEC_MLPS_CORE_DATA_FLOOR", 4) or None
EDUSEC_MLPS_FILING_DAYS = env_int("EDUSEC_MLPS_FILING_DAYS", 30)
EDUSEC_MLPS_CERTIFICATE_YEARS = env_int("EDUSEC_MLPS_CERTIFICATE_YEARS", 3)
EDUSEC_MLPS_RENEWAL_NOTICE_DAYS = env_int("EDUSEC_MLPS_RENEWAL_NOTICE_DAYS", 90)
EDUSEC_MLPS_DUE_SOON_DAYS = env_int("EDUSEC_MLPS_DUE_SOON_DAYS", 30)
EDUSEC_MLPS_ASSESSMENT_MONTHS = env("EDUSEC_MLPS_ASSESSMENT_MONTHS", "2:24,3:12,4:6,5:6")
EDUSEC_MLPS_SELF_INSPECTION_MONTHS = env("EDUSEC_MLPS_SELF_INSPECTION_MONTHS", "3:12,4:6,5:6")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("EDUSEC_LOG_LEVEL", "WARNING")},
}

# Monitoring (monitoring/sweep.py). Names under .example/.test always resolve to loopback inside the project; with
# EDUSEC_MONITOR_PORT_MAP their ports 80/443 go to the simulated farm's. Public names and addresses are probed only when
# EDUSEC_MONITOR_ALLOW_PUBLIC is on (production); the demo and the tests never leave the machine.
EDUSEC_MONITOR_ALLOW_PUBLIC = env_bool("EDUSEC_MONITOR_ALLOW_PUBLIC", not EDUSEC_DEMO)
EDUSEC_MONITOR_PORT_MAP = env("EDUSEC_MONITOR_PORT_MAP", "80:18080,443:18443" if EDUSEC_DEMO else "")
EDUSEC_MONITOR_CA_FILE = env("EDUSEC_MONITOR_CA_FILE", str(DATA_DIR / "simfarm" / "ca.pem") if EDUSEC_DEMO else "")
EDUSEC_MONITOR_CONCURRENCY = env_int("EDUSEC_MONITOR_CONCURRENCY", 100)
EDUSEC_MONITOR_BATCH = env_int("EDUSEC_MONITOR_BATCH", 500)
# Processes that analyse changed pages for `edusec monitor` (0: in the monitor's own process); one per core by default.
EDUSEC_MONITOR_ANALYSIS_WORKERS = env_int("EDUSEC_MONITOR_ANALYSIS_WORKERS", os.cpu_count() or 1)
# Extra fetches of a content check's page to detect cloaking (spider, mobile, referer); empty: the page only.
EDUSEC_MONITOR_CLOAKING_VARIANTS = env("EDUSEC_MONITOR_CLOAKING_VARIANTS", "spider,mobile,referer")
EDUSEC_MONITOR_STALE_DAYS = env_int("EDUSEC_MONITOR_STALE_DAYS", 180)  # a page unchanged this long is a stale site
# `edusec monitor` refreshes (times seen, last seen) the finding of a detection that stays the same at most this often;
# a new, changed or returning detection is written at once.
EDUSEC_MONITOR_FINDING_REFRESH = env_int("EDUSEC_MONITOR_FINDING_REFRESH", 600)
# `edusec monitor` tells a receiver (a unit's people, a robot, a webhook) of one event type at most once in this many
# seconds: what comes meanwhile is held and sent as one message when the time is up.
EDUSEC_MONITOR_ALERT_INTERVAL = env_int("EDUSEC_MONITOR_ALERT_INTERVAL", 120)
EDUSEC_MONITOR_EVENT_DAYS = env_int("EDUSEC_MONITOR_EVENT_DAYS", 365)  # monitoring events kept
EDUSEC_MONITOR_SNAPSHOT_DAYS = env_int("EDUSEC_MONITOR_SNAPSHOT_DAYS", 90)  # stored page copies kept
EDUSEC_MONITOR_ROLLUP_DAYS = env_int("EDUSEC_MONITOR_ROLLUP_DAYS", 730)  # daily figures kept (charts)
# Raw per-probe rows (when, good, status, response time, error), for troubleshooting: kept this many days; 0 = off.
EDUSEC_MONITOR_PROBE_RECORD_DAYS = env_int("EDUSEC_MONITOR_PROBE_RECORD_DAYS", 0)
