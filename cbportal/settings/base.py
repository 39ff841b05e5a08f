"""CB Portal settings.

With no environment variables set this is the *embedded default*: SQLite in the project
folder, Celery tasks run eagerly, email printed to the console, DEBUG on, local hosts only.
``DATABASE_URL`` switches to PostgreSQL and ``REDIS_URL`` to a real Celery broker and
cache. ``cbportal.settings.production`` builds on this module and insists on the rest.
Every variable is documented in README.md.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from cbportal.settings.env import Env

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = Env()

# --- Core -------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", True)
SECRET_KEY = env.str("SECRET_KEY", "insecure-embedded-default-key-do-not-use-in-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env.str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # third party
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_standardized_errors",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    # CB Portal
    "cbportal.core",
    "cbportal.accounts",
    "requests_app",
    "actions",
    "experts",
    "evaluations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "cbportal.core.security_headers.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "cbportal.accounts.middleware.UserLanguageMiddleware",
    "cbportal.accounts.middleware.TwoFactorEnforcementMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # AxesMiddleware should be the last one in the list.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "cbportal.urls"
WSGI_APPLICATION = "cbportal.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cbportal.core.context_processors.portal",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------
DATABASES = {"default": env.database("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# The password may stay out of the URL: DATABASE_PASSWORD (or DATABASE_PASSWORD_FILE, a
# mounted secret) wins over one written in DATABASE_URL (itself readable from DATABASE_URL_FILE).
if env.is_set("DATABASE_PASSWORD"):
    DATABASES["default"]["PASSWORD"] = env.str("DATABASE_PASSWORD")
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", 0, minimum=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Waiting for a lock beats "database is locked" when the dev server and a task overlap.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20}
USING_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

# --- Redis: Celery broker and cache -----------------------------------------------------
REDIS_URL = env.redis_url("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "cbportal",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = REDIS_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", "cbportal")
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = env.str("TIME_ZONE", "UTC")
# A broker that is down must not hang a request: publishing gives up quickly and the
# notification stays in the outbox for the sweep (see cbportal/core/notifications.py).
# A Redis that accepts connections but stops answering (frozen, a network cut under a pooled
# connection) must not hang it either: every socket operation times out.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.5,
    "socket_timeout": 2,
    "socket_connect_timeout": 2,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Every scheduled job, in one place. Daily jobs run at REMINDER_TIME / DIGEST_TIME (HH:MM in
# TIME_ZONE); how often each reminder may repeat is in REMINDERS below.
_reminder_hour, _reminder_minute = env.time_of_day("REMINDER_TIME", "06:30")
_digest_hour, _digest_minute = env.time_of_day("DIGEST_TIME", "07:00")
_daily_reminders = crontab(hour=_reminder_hour, minute=_reminder_minute)
CELERY_BEAT_SCHEDULE = {
    # Emails whose queueing failed (broker down) or whose retry is due.
    "notifications-sweep": {
        "task": "cbportal.core.tasks.sweep_notifications",
        "schedule": timedelta(seconds=env.int("NOTIFICATION_SWEEP_SECONDS", 60, minimum=5)),
    },
    # One email per user with everything they chose to receive as a digest.
    "notifications-daily-digest": {
        "task": "cbportal.core.tasks.send_daily_digests",
        "schedule": crontab(hour=_digest_hour, minute=_digest_minute),
    },
    # Invitations past their expiry date turn ``expired`` (the case officer is told).
    "deployments-expire-invitations": {
        "task": "experts.tasks.expire_invitations",
        "schedule": timedelta(minutes=env.int("INVITATION_EXPIRY_CHECK_MINUTES", 15, minimum=1)),
    },
    # Requests past their first-response or decision target → case officer and team lead.
    "reminders-request-sla": {
        "task": "requests_app.tasks.remind_overdue_requests",
        "schedule": _daily_reminders,
    },
    # Invitations expiring within INVITATION_EXPIRY_REMINDER_DAYS → the expert.
    "reminders-invitations-expiring": {
        "task": "experts.tasks.remind_expiring_invitations",
        "schedule": _daily_reminders,
    },
    # Mission reports overdue → the expert.
    "reminders-mission-reports": {
        "task": "experts.tasks.remind_mission_reports",
        "schedule": _daily_reminders,
    },
    # Indicator measurements due → the action's evaluators.
    "reminders-measurements": {
        "task": "evaluations.tasks.remind_measurements_due",
        "schedule": _daily_reminders,
    },
    # Final evaluations due once an action is completed → the action's evaluators.
    "reminders-final-evaluations": {
        "task": "evaluations.tasks.remind_evaluations_due",
        "schedule": _daily_reminders,
    },
    # The dashboard's first view, computed ahead in every language (when its figures are
    # kept: DASHBOARD_CACHE_SECONDS) — more often than they expire, so no reader waits.
    "dashboard-warm": {
        "task": "evaluations.tasks.warm_dashboard",
        "schedule": timedelta(seconds=env.int("DASHBOARD_WARM_SECONDS", 240, minimum=30)),
    },
}
# How often a reminder repeats while its condition holds (days; 0 = once per occurrence).
# Whatever the value, one object gets one reminder per reason per day at most.
REMINDERS = {
    "request_first_response_overdue": {
        "every_days": env.int("REMINDER_SLA_EVERY_DAYS", 1, minimum=1)
    },
    "request_decision_overdue": {"every_days": env.int("REMINDER_SLA_EVERY_DAYS", 1, minimum=1)},
    "invitation_expiring": {"every_days": 0},
    "mission_report_due": {"every_days": env.int("REMINDER_REPORT_EVERY_DAYS", 7, minimum=0)},
    "measurement_due": {"every_days": env.int("REMINDER_MEASUREMENT_EVERY_DAYS", 7, minimum=0)},
    "evaluation_due": {"every_days": env.int("REMINDER_EVALUATION_EVERY_DAYS", 7, minimum=0)},
}
INVITATION_EXPIRY_REMINDER_DAYS = env.int("INVITATION_EXPIRY_REMINDER_DAYS", 2, minimum=1)
# A final evaluation is due this many days after its action is completed.
FINAL_EVALUATION_DUE_DAYS = env.int("FINAL_EVALUATION_DUE_DAYS", 60, minimum=0)

# --- Authentication ---------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24  # one day
INVITATION_VALID_DAYS = env.int("INVITATION_VALID_DAYS", 14, minimum=1)

# Lock out a username+address pair after repeated failures (django-axes).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "cbportal.accounts.lockout.lockout_response"
# Failed attempts are kept in the database: staff can review them in the admin.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_VERBOSE = False
# The same client address as every other limit (cbportal/core/rate_limits.py).
AXES_CLIENT_IP_CALLABLE = "cbportal.core.rate_limits.client_ip"

# --- Rate limits ------------------------------------------------------------------------
# Reverse proxies in front of the app that append to X-Forwarded-For (0: the app is reached
# directly and REMOTE_ADDR is the client). Every address-keyed limit — pages, the sign-in
# lockout, API throttles — reads the client address through one function that trusts that
# many hops and no more (cbportal.core.rate_limits.client_ip).
if env.is_set("NUM_PROXIES"):
    raise ImproperlyConfigured("NUM_PROXIES is now called TRUSTED_PROXY_COUNT.")
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", 0, minimum=0)
RATELIMIT_IP_META_KEY = "cbportal.core.rate_limits.client_ip"
_PAGE_RATE = re.compile(r"^[0-9]+/[0-9]*[smhd]$")
_API_RATE = re.compile(r"^[0-9]+/(s|sec|second|m|min|minute|h|hour|d|day)$")


def _page_rate(name: str, default: str) -> str:
    """A django-ratelimit rate: a count per period, ``10/h``, ``5/m``, ``20/15m``."""
    value = env.str(name, default)
    if not _PAGE_RATE.match(value):
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a rate such as 10/h, 5/m or 20/15m (s, m, h, d)."
        )
    return value


def _api_rate(name: str, default: str) -> str:
    """A DRF throttle rate: ``60/minute``, ``10/second``, ``1000/hour``, ``5000/day``."""
    value = env.str(name, default)
    if not _API_RATE.match(value):
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a rate such as 60/minute (second, minute, hour, day)."
        )
    return value


# Pages answer 429 with Retry-After past these (django-ratelimit syntax, counted on POST).
# A sign-in form per address, on top of the per-username lockout (an office behind one
# address signs in many people; guessing across many usernames is what this stops).
LOGIN_RATE_LIMIT = _page_rate("LOGIN_RATE_LIMIT", "60/h")
# Password reset: per client address, and per address typed in (whether or not an account
# has it), so that nobody can flood one mailbox from many places.
PASSWORD_RESET_RATE_LIMIT = _page_rate("PASSWORD_RESET_RATE_LIMIT", "10/h")
PASSWORD_RESET_EMAIL_RATE_LIMIT = _page_rate("PASSWORD_RESET_EMAIL_RATE_LIMIT", "3/h")
# Invitations sent or sent again, per staff member.
INVITATION_SEND_RATE_LIMIT = _page_rate("INVITATION_SEND_RATE_LIMIT", "100/h")
# Answers to the invitation page (setting a password), per client address, and to an
# expert's signed invitation link (signed in), per expert.
INVITATION_ACCEPT_RATE_LIMIT = _page_rate("INVITATION_ACCEPT_RATE_LIMIT", "20/h")
EXPERT_INVITATION_LINK_RATE_LIMIT = _page_rate("EXPERT_INVITATION_LINK_RATE_LIMIT", "30/h")

# Two-factor login with time-based one-time passwords (django-otp).
TWO_FACTOR_REQUIRED_FOR_STAFF = env.bool("TWO_FACTOR_REQUIRED_FOR_STAFF", False)
OTP_TOTP_ISSUER = "CB Portal"

# A session lasts at most SESSION_COOKIE_AGE (8 hours, a working day) and, by default, ends
# when the browser closes: the portal holds CVs and personal data and is used on shared
# office computers. SESSION_EXPIRE_AT_BROWSER_CLOSE=false keeps it across restarts instead.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", 60 * 60 * 8, minimum=60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = env.bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", True)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# --- Internationalisation ---------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French")), ("es", _("Spanish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static and media -------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Front-end packages come from the npm registry at set-up (``npm ci``); nothing third-party
# is committed. Each prefix maps one package's distribution folder.
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", NODE_MODULES / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", NODE_MODULES / "bootstrap-icons" / "font"),
    ("vendor/chart.js", NODE_MODULES / "chart.js" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", str(BASE_DIR / "media")))
# Uploaded documents (official letters, CVs): at most this many bytes each.
MAX_UPLOAD_BYTES = env.int("MAX_UPLOAD_MB", 10, minimum=1) * 1024 * 1024
# Request bodies may carry one such file plus the form.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Email ------------------------------------------------------------------------------
_email = env.email_url("EMAIL_URL")
if _email:
    EMAIL_BACKEND = _email["EMAIL_BACKEND"]
    EMAIL_HOST = _email.get("EMAIL_HOST", "")
    EMAIL_PORT = _email.get("EMAIL_PORT") or 25
    EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS", False))
    EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL", False))
    if _email.get("EMAIL_FILE_PATH"):
        EMAIL_FILE_PATH = _email["EMAIL_FILE_PATH"]
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", "CB Portal <no-reply@cbportal.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_REPLY_TO = env.list("EMAIL_REPLY_TO", [])

# --- Notifications ----------------------------------------------------------------------
NOTIFICATION_MAX_ATTEMPTS = env.int("NOTIFICATION_MAX_ATTEMPTS", 5, minimum=1)
# A claim older than this is considered abandoned (worker killed mid-delivery).
NOTIFICATION_CLAIM_SECONDS = env.int("NOTIFICATION_CLAIM_SECONDS", 300, minimum=10)
# Delivery for users and organisations that chose nothing: immediate, digest or in_app.
NOTIFICATION_DEFAULT_MODE = env.choice(
    "NOTIFICATION_DEFAULT_MODE", ["immediate", "digest", "in_app"], "immediate"
)
# /healthz and `manage.py outbox` warn when the oldest pending email is older than this.
NOTIFICATION_BACKLOG_WARNING_SECONDS = env.int(
    "NOTIFICATION_BACKLOG_WARNING_SECONDS", 900, minimum=60
)

# --- REST API ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: unauthenticated API calls then get 401 with WWW-Authenticate.
        "cbportal.accounts.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["cbportal.core.api.permissions.IsAuthenticatedAndVerified"],
    "DEFAULT_PAGINATION_CLASS": "cbportal.core.api.pagination.PagePagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "cbportal.core.rate_limits.AnonRateThrottle",
        "cbportal.core.rate_limits.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": _api_rate("API_THROTTLE_ANON", "60/minute"),
        "user": _api_rate("API_THROTTLE_USER", "1200/minute"),
        "token": _api_rate("API_THROTTLE_TOKEN", "10/minute"),
    },
    # The portal's throttles name clients with cbportal.core.rate_limits.client_ip; a DRF
    # throttle used directly reads the same count.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "DEFAULT_SCHEMA_CLASS": "cbportal.core.api.schema.PortalAutoSchema",
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
}
DRF_STANDARDIZED_ERRORS = {
    "EXCEPTION_HANDLER_CLASS": "cbportal.core.api.errors.PortalExceptionHandler",
    "ENABLE_IN_DEBUG_FOR_UNHANDLED_EXCEPTIONS": False,
    "ALLOWED_ERROR_STATUS_CODES": [
        "400",
        "401",
        "403",
        "404",
        "405",
        "406",
        "409",
        "415",
        "429",
        "500",
    ],
    # Our own codes next to the library's: transition_forbidden (403), unknown_transition (404).
    "ERROR_SCHEMAS": {
        "403": "cbportal.core.api.schema.ErrorResponse403Serializer",
        "404": "cbportal.core.api.schema.ErrorResponse404Serializer",
        "409": "cbportal.core.api.schema.ErrorResponse409Serializer",
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CB Portal API",
    "DESCRIPTION": (
        "Demand-driven capacity building in migration governance: partner requests, needs "
        "assessments, tailor-made actions, expert deployments, monitoring and evaluation."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ValidationErrorEnum": "drf_standardized_errors.openapi_serializers.ValidationErrorEnum.choices",
        "ClientErrorEnum": "drf_standardized_errors.openapi_serializers.ClientErrorEnum.choices",
        "ServerErrorEnum": "drf_standardized_errors.openapi_serializers.ServerErrorEnum.choices",
        "ErrorCode401Enum": "drf_standardized_errors.openapi_serializers.ErrorCode401Enum.choices",
        "ErrorCode403Enum": "cbportal.core.api.schema.ErrorCode403Enum.choices",
        "ErrorCode404Enum": "cbportal.core.api.schema.ErrorCode404Enum.choices",
        "ErrorCode405Enum": "drf_standardized_errors.openapi_serializers.ErrorCode405Enum.choices",
        "ErrorCode406Enum": "drf_standardized_errors.openapi_serializers.ErrorCode406Enum.choices",
        "ErrorCode415Enum": "drf_standardized_errors.openapi_serializers.ErrorCode415Enum.choices",
        "ErrorCode429Enum": "drf_standardized_errors.openapi_serializers.ErrorCode429Enum.choices",
        "ErrorCode500Enum": "drf_standardized_errors.openapi_serializers.ErrorCode500Enum.choices",
        "ErrorCode409Enum": "cbportal.core.api.schema.ErrorCode409Enum.choices",
        "DeliveryModeEnum": "cbportal.core.models.DeliveryMode.choices",
        "UserRoleEnum": "cbportal.accounts.models.Role.choices",
        "RequestStatusEnum": "requests_app.models.RequestStatus.choices",
        "AssessmentStatusEnum": "requests_app.models.AssessmentStatus.choices",
        "AttachmentKindEnum": "requests_app.models.AttachmentKind.choices",
        "MessageKindEnum": "requests_app.models.MessageKind.choices",
        "OrganisationKindEnum": "cbportal.accounts.models.OrganisationKind.choices",
        "DeploymentStatusEnum": "experts.models.DeploymentStatus.choices",
        "VettingStatusEnum": "experts.models.VettingStatus.choices",
        "AdministrationTypeEnum": "experts.models.AdministrationType.choices",
        "CefrLevelEnum": "experts.models.CefrLevel.choices",
        "MatchJobStatusEnum": "experts.models.MatchJobStatus.choices",
        "CbLevelEnum": "requests_app.models.CbLevel.choices",
        "IndicatorUnitEnum": "evaluations.models.Unit.choices",
        "IndicatorDirectionEnum": "evaluations.models.Direction.choices",
        "MeasurementFrequencyEnum": "evaluations.models.Frequency.choices",
        "ProgressStatusEnum": "evaluations.models.Progress.choices",
        "EvaluationStatusEnum": "evaluations.models.EvaluationStatus.choices",
        "RespondentKindEnum": "evaluations.models.RespondentKind.choices",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_standardized_errors.openapi_hooks.postprocess_schema_enums",
    ],
}

# --- Content Security Policy (django-csp 4) ---------------------------------------------
# No inline scripts or styles anywhere: every page loads its behaviour from static/js.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Browser features no page uses are switched off for the site and anything it embeds
# (cbportal.core.security_headers); copying a feedback link needs the clipboard. Only
# features Chromium knows: an unknown one is reported as an error on every page.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    "accelerometer": [],
    "autoplay": [],
    "camera": [],
    "clipboard-write": ["self"],
    "display-capture": [],
    "encrypted-media": [],
    "fullscreen": ["self"],
    "geolocation": [],
    "gyroscope": [],
    "magnetometer": [],
    "microphone": [],
    "midi": [],
    "payment": [],
    "picture-in-picture": [],
    "publickey-credentials-get": [],
    "screen-wake-lock": [],
    "serial": [],
    "usb": [],
    "xr-spatial-tracking": [],
}

# --- Programme rules --------------------------------------------------------------------
# Working-day SLA targets for triage (used by the requests issue).
SLA_FIRST_RESPONSE_WORKING_DAYS = env.int("SLA_FIRST_RESPONSE_WORKING_DAYS", 2, minimum=1)
SLA_DECISION_WORKING_DAYS = env.int("SLA_DECISION_WORKING_DAYS", 10, minimum=1)
# Public holidays (ISO dates, comma-separated) that do not count as working days.
SLA_HOLIDAYS = env.dates("SLA_HOLIDAYS")
# "Due soon" starts this many hours before a target.
SLA_DUE_SOON_HOURS = env.int("SLA_DUE_SOON_HOURS", 24, minimum=1)

# Deployments: how long an expert has to answer an invitation, and how many days after
# the mission ends the report is due.
DEPLOYMENT_INVITATION_DAYS = env.int("DEPLOYMENT_INVITATION_DAYS", 7, minimum=1)
MISSION_REPORT_DUE_DAYS = env.int("MISSION_REPORT_DUE_DAYS", 14, minimum=0)

# Matching (DESIGN.md §6): the weight of each soft component (relative; 0 switches one
# off), how many ranked experts a shortlist keeps, and the window of "recent" deployments
# for workload balance.
MATCHING_WEIGHTS = {
    "thematic": env.int("MATCH_WEIGHT_THEMATIC", 30, minimum=0),
    "skills": env.int("MATCH_WEIGHT_SKILLS", 25, minimum=0),
    "experience": env.int("MATCH_WEIGHT_EXPERIENCE", 15, minimum=0),
    "origin": env.int("MATCH_WEIGHT_ORIGIN", 10, minimum=0),
    "track_record": env.int("MATCH_WEIGHT_TRACK_RECORD", 10, minimum=0),
    "workload": env.int("MATCH_WEIGHT_WORKLOAD", 10, minimum=0),
}
MATCH_SHORTLIST_SIZE = env.int("MATCH_SHORTLIST_SIZE", 50, minimum=1)
MATCH_WORKLOAD_DAYS = env.int("MATCH_WORKLOAD_DAYS", 365, minimum=1)

# Monitoring (evaluations/progress.py): how far, in percentage points of the way from
# baseline to target, an indicator may lag behind the elapsed share of the action's period
# and still be "on track", or "at risk" (beyond that it is "off track").
INDICATOR_ON_TRACK_MARGIN_PERCENT = env.int("INDICATOR_ON_TRACK_MARGIN_PERCENT", 10, minimum=0)
INDICATOR_AT_RISK_MARGIN_PERCENT = env.int("INDICATOR_AT_RISK_MARGIN_PERCENT", 25, minimum=0)
# Public feedback form: answers accepted per client address (django-ratelimit syntax).
FEEDBACK_RATE_LIMIT = _page_rate("FEEDBACK_RATE_LIMIT", "100/h")
# Most feedback links staff can create at once for one activity.
FEEDBACK_LINKS_MAX = env.int("FEEDBACK_LINKS_MAX", 200, minimum=1)

# --- Logging ----------------------------------------------------------------------------
LOG_LEVEL = env.choice("LOG_LEVEL", ["DEBUG", "INFO", "WARNING", "ERROR"], "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "axes": {"level": "WARNING"},
        # Eager tasks (embedded default) would log every delivery at INFO.
        "celery.app.trace": {"level": "WARNING" if CELERY_TASK_ALWAYS_EAGER else LOG_LEVEL},
        # WeasyPrint logs each step of every PDF at INFO; its warnings still show.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# How long the portfolio dashboard's figures (page and API) are kept in the cache, per set
# of filters and language; 0 computes them on every view (the embedded default). The page
# says when its figures were computed. Production keeps them 5 minutes.
DASHBOARD_CACHE_SECONDS = env.int("DASHBOARD_CACHE_SECONDS", 0, minimum=0)
