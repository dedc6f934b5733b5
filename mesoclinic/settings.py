"""Mesoclinic settings: one module, configured from the environment.

Every value that differs between machines is read here, once, and a bad value
stops start-up with a clear error instead of surfacing later. The run and test
commands write their local choices to var/dev.env; real environment variables
always win over that file, and a production deployment has no such file.
"""

from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import unquote

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def envbool(name: str, default: bool) -> bool:
    """A boolean from the environment; anything but a clear yes or no stops start-up."""
    raw = env.str(name, default="1" if default else "0").strip().lower()
    if raw not in _TRUE | _FALSE:
        raise ImproperlyConfigured(
            f"{name} must be one of 1/0, true/false, yes/no, on/off (got {raw!r})."
        )
    return raw in _TRUE


_dev_env = VAR_DIR / "dev.env"
if _dev_env.exists():
    env.read_env(_dev_env, overwrite=False)

DEBUG = envbool("DEBUG", False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set (the run command creates one in var/dev.env)."
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Demo users and data are loaded only by the run command, never in production.
DEMO_DATA_ALLOWED = envbool("MESOCLINIC_DEMO", False)

# --- The clinic -----------------------------------------------------------
CLINIC_NAME = env.str("CLINIC_NAME", default="Mesoclinic Demo Clinic")
CLINIC_PHONE = env.str("CLINIC_PHONE", default="+44 20 7946 0000")
CLINIC_EMAIL = env.str("CLINIC_EMAIL", default="clinic@example.com")
CLINIC_ADDRESS = env.str("CLINIC_ADDRESS", default="1 Harley Street, London W1G 9QD")
CLINIC_CURRENCY = env.str("CLINIC_CURRENCY", default="GBP").upper()
CLINIC_COUNTRY = env.str("CLINIC_COUNTRY", default="GB").upper()
CLINIC_LOCALE = env.str("CLINIC_LOCALE", default="en_GB")
TIME_ZONE = env.str("CLINIC_TIME_ZONE", default="Europe/London")
# Month and day names in dates follow the clinic's locale (en_GB -> en-gb).
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default=CLINIC_LOCALE.replace("_", "-").lower())
# A screening older than this must be taken again before treatment.
SCREENING_VALID_DAYS = env.int("SCREENING_VALID_DAYS", default=90)
if SCREENING_VALID_DAYS < 1:
    raise ImproperlyConfigured("SCREENING_VALID_DAYS must be at least 1.")
# Patient messages other than urgent ones wait until these hours are over.
CLINIC_QUIET_HOURS = env.str("CLINIC_QUIET_HOURS", default="21:00-08:00")
try:
    from mesoclinic.core.outbox_rules import parse_quiet_hours

    parse_quiet_hours(CLINIC_QUIET_HOURS)
except ValueError as exc:
    raise ImproperlyConfigured(f"CLINIC_QUIET_HOURS: {exc}") from exc
# What staff are offered (course planner, next free slot) starts this long after now.
CLINIC_MIN_NOTICE_MINUTES = env.int("CLINIC_MIN_NOTICE_MINUTES", default=60)
if not 0 <= CLINIC_MIN_NOTICE_MINUTES <= 7 * 24 * 60:
    raise ImproperlyConfigured("CLINIC_MIN_NOTICE_MINUTES must be between 0 and 10080.")
# The public address of this site, used in links inside emails.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# --- Data rights (mesoclinic.records) ---------------------------------------
# The clinic's own FHIR code systems (protocols, zones, kit kinds...): one stable URL each
# under this base. Keep it fixed once records have been exported.
FHIR_CODE_SYSTEM_BASE = env.str(
    "FHIR_CODE_SYSTEM_BASE", default=f"{SITE_URL.rstrip('/')}/fhir/CodeSystem"
)
# Requests per minute one FHIR API token may make.
FHIR_API_RATE_PER_MINUTE = env.int("FHIR_API_RATE_PER_MINUTE", default=120)
# Clinical records are kept this many years after the last treatment (UK: 8; Germany,
# § 630f BGB: 10); invoices and payments this many years after the end of their tax year
# (UK HMRC: 6; Germany § 147 AO: 10). The daily retention job erases or anonymises what
# has passed its time.
CLINIC_RETENTION_YEARS = env.int("CLINIC_RETENTION_YEARS", default=8)
BILLING_RETENTION_YEARS = env.int("BILLING_RETENTION_YEARS", default=10)
# A subject-access download link sent to the patient works this many days.
SUBJECT_ACCESS_LINK_DAYS = env.int("SUBJECT_ACCESS_LINK_DAYS", default=7)
for _name in ("CLINIC_RETENTION_YEARS", "BILLING_RETENTION_YEARS"):
    if not 1 <= globals()[_name] <= 100:
        raise ImproperlyConfigured(f"{_name} must be a number of years between 1 and 100.")
if not 1 <= SUBJECT_ACCESS_LINK_DAYS <= 30:
    raise ImproperlyConfigured("SUBJECT_ACCESS_LINK_DAYS must be between 1 and 30 (days).")
if FHIR_API_RATE_PER_MINUTE < 1:
    raise ImproperlyConfigured("FHIR_API_RATE_PER_MINUTE must be at least 1.")
# Signed patient links stop working after this many days.
PATIENT_LINK_MAX_AGE_DAYS = env.int("PATIENT_LINK_MAX_AGE_DAYS", default=14)


# --- Billing ----------------------------------------------------------------
def envdecimal(name: str, default: str, maximum: int):
    """A non-negative Decimal from the environment; a bad value stops start-up."""
    raw = env.str(name, default=default).strip()
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise ImproperlyConfigured(f"{name} must be a number (got {raw!r}).") from exc
    if not value.is_finite() or not 0 <= value <= maximum:
        raise ImproperlyConfigured(f"{name} must be between 0 and {maximum} (got {raw!r}).")
    return value


# Tax (e.g. VAT) in percent; whether the price lists already include it.
BILLING_TAX_RATE = envdecimal("BILLING_TAX_RATE", "20", 100)
BILLING_PRICES_INCLUDE_TAX = envbool("BILLING_PRICES_INCLUDE_TAX", True)
# Quote discounts above this percentage need a manager's approval.
BILLING_DISCOUNT_APPROVAL_LIMIT = envdecimal("BILLING_DISCOUNT_APPROVAL_LIMIT", "10", 100)
# Deposit asked when a quote is accepted, in percent of its total.
BILLING_DEPOSIT_PERCENT = envdecimal("BILLING_DEPOSIT_PERCENT", "20", 100)
# Fees for a late cancellation (inside the clinic's window) and a no-show; 0 = none.
BILLING_LATE_CANCEL_FEE = envdecimal("BILLING_LATE_CANCEL_FEE", "50", 10**6)
BILLING_NO_SHOW_FEE = envdecimal("BILLING_NO_SHOW_FEE", "100", 10**6)
BILLING_QUOTE_VALID_DAYS = env.int("BILLING_QUOTE_VALID_DAYS", default=30)
if BILLING_QUOTE_VALID_DAYS < 1:
    raise ImproperlyConfigured("BILLING_QUOTE_VALID_DAYS must be at least 1.")
# A consultation fee is deducted from a treatment booked within this many days (0: never).
BILLING_CONSULTATION_DEDUCT_DAYS = env.int("BILLING_CONSULTATION_DEDUCT_DAYS", default=30)

try:
    import zoneinfo

    zoneinfo.ZoneInfo(TIME_ZONE)
except Exception as exc:
    raise ImproperlyConfigured(f"CLINIC_TIME_ZONE {TIME_ZONE!r} is not a known time zone.") from exc
try:
    import babel.numbers

    babel.numbers.get_currency_symbol(CLINIC_CURRENCY, locale=CLINIC_LOCALE)
    if CLINIC_CURRENCY not in babel.numbers.list_currencies():
        raise ValueError(CLINIC_CURRENCY)
except Exception as exc:
    raise ImproperlyConfigured(
        f"CLINIC_CURRENCY {CLINIC_CURRENCY!r} / CLINIC_LOCALE {CLINIC_LOCALE!r} are not valid."
    ) from exc

# --- Applications ---------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "mesoclinic.core.apps.CoreConfig",
    "mesoclinic.core.accounts.apps.AccountsConfig",
    "mesoclinic.core.backups.apps.BackupsConfig",
    "mesoclinic.apps.WiringConfig",
    "patients.apps.PatientsConfig",
    "protocols.apps.ProtocolsConfig",
    "sessions.apps.ClinicSessionsConfig",
    "billing.apps.BillingConfig",
    "mesoclinic.records.apps.RecordsConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "mesoclinic.core.accounts.middleware.security_headers",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Idle lock, the second factor and a temporary password's first change.
    "mesoclinic.core.accounts.middleware.StaffSessionMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "mesoclinic.urls"
WSGI_APPLICATION = "mesoclinic.wsgi.application"

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
                "mesoclinic.core.context_processors.clinic",
                "mesoclinic.core.accounts.context_processors.staff_session",
            ],
        },
    },
]

# --- Data -----------------------------------------------------------------
DATABASE_URL = env.str("DATABASE_URL", default="")
if not DATABASE_URL:
    raise ImproperlyConfigured(
        "DATABASE_URL must be set (PostgreSQL only); `make run` and `make test` start an "
        "embedded PostgreSQL and set it for you."
    )
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
# A Unix-socket directory is written percent-encoded in the URL's host part.
DATABASES["default"]["HOST"] = unquote(DATABASES["default"]["HOST"] or "")
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL.")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Celery ---------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    # Embedded default: kombu's filesystem transport, a folder under var/.
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
# Separate deployments (or test runs) sharing one Redis use their own queue.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="celery")
# Beat's outbox dispatcher and stuck-row sweeper have a queue of their own, which every
# worker consumes beside the default one (no -Q needed): they never wait behind a long
# line of deliveries.
CELERY_CONTROL_QUEUE = f"{CELERY_TASK_DEFAULT_QUEUE}-control"
CELERY_TASK_QUEUES = [
    Queue(CELERY_TASK_DEFAULT_QUEUE, routing_key=CELERY_TASK_DEFAULT_QUEUE),
    Queue(CELERY_CONTROL_QUEUE, routing_key=CELERY_CONTROL_QUEUE),
]
CELERY_TASK_ROUTES = {
    "mesoclinic.core.tasks.dispatch_due_messages": {"queue": CELERY_CONTROL_QUEUE},
    "mesoclinic.core.tasks.recover_stuck_messages": {"queue": CELERY_CONTROL_QUEUE},
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "dispatch-due-messages": {
        "task": "mesoclinic.core.tasks.dispatch_due_messages",
        "schedule": 60.0,
    },
    "recover-stuck-messages": {
        "task": "mesoclinic.core.tasks.recover_stuck_messages",
        "schedule": 300.0,
    },
    "expire-online-holds": {
        "task": "sessions.online.tasks.expire_holds",
        "schedule": 60.0,
    },
    "schedule-course-messages": {
        "task": "sessions.tasks.schedule_course_messages",
        "schedule": 3600.0,
    },
    "retry-missing-consent-pdfs": {
        "task": "patients.tasks.retry_missing_consent_pdfs",
        "schedule": 600.0,
    },
    # Erasure and retention (mesoclinic.records): once a day.
    "apply-retention": {
        "task": "mesoclinic.records.tasks.apply_retention",
        "schedule": 24 * 60 * 60.0,
    },
}

# --- Auth -----------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, reading the user's roles with the user (one query a request).
    "mesoclinic.core.accounts.backends.StaffBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 2

# Brute-force lockout: five failed passwords or second-factor codes lock the account
# (on every device, so guessing from many addresses gets nowhere), and the account on
# that address. There is no lock by IP alone: one person's typos must not lock out a
# whole clinic behind one public address. A manager lifts a lock on the staff page.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.5)
AXES_LOCKOUT_PARAMETERS = ["username", ["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_PROXY_COUNT = env.int("PROXY_COUNT", default=0)
AXES_VERBOSE = False

# Two-factor sign-in (TOTP, django-otp) is required for these roles; others may
# enrol. `make run` (the demo) defaults to none, so the demo logins work at once.
try:
    from mesoclinic.core.accounts.rules import parse_role_minutes, parse_roles

    TWO_FACTOR_REQUIRED_ROLES = parse_roles(
        env.str("TWO_FACTOR_REQUIRED_ROLES", default="manager,practitioner")
    )
    # Idle lock: a staff session without activity for this long ends (per role).
    IDLE_TIMEOUT_MINUTES_BY_ROLE = parse_role_minutes(
        env.str("IDLE_TIMEOUT_MINUTES_BY_ROLE", default="")
    )
except ValueError as exc:
    raise ImproperlyConfigured(f"Staff sign-in settings: {exc}") from exc
IDLE_TIMEOUT_MINUTES = env.int("IDLE_TIMEOUT_MINUTES", default=15)
if not 2 <= IDLE_TIMEOUT_MINUTES <= 24 * 60:
    raise ImproperlyConfigured("IDLE_TIMEOUT_MINUTES must be between 2 and 1440.")
IDLE_WARNING_SECONDS = 60
OTP_TOTP_ISSUER = CLINIC_NAME
# django-axes limits wrong codes (five lock the account); django-otp's own per-device
# delay would also refuse a right code typed within seconds of a wrong one.
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0

# --- Backups (manage.py backup / restore) ------------------------------------
# An age X25519 secret key ("AGE-SECRET-KEY-1..."; `manage.py backup --new-key` makes
# one). Archives are encrypted to it; without it, backup and restore refuse to run.
BACKUP_KEY = env.str("BACKUP_KEY", default="")
BACKUP_DIR = env.str("BACKUP_DIR", default=str(VAR_DIR / "backups"))
BACKUP_KEEP = env.int("BACKUP_KEEP", default=14)
if BACKUP_KEEP < 1:
    raise ImproperlyConfigured("BACKUP_KEEP must be at least 1.")
# The compose stack turns the nightly backup on (Celery beat, the worker writes it).
BACKUP_NIGHTLY = envbool("BACKUP_NIGHTLY", False)
BACKUP_HOUR_UTC = env.int("BACKUP_HOUR_UTC", default=2)
if not 0 <= BACKUP_HOUR_UTC <= 23:
    raise ImproperlyConfigured("BACKUP_HOUR_UTC must be between 0 and 23.")
if BACKUP_NIGHTLY:
    from celery.schedules import crontab

    if not BACKUP_KEY:
        raise ImproperlyConfigured("BACKUP_NIGHTLY is on but BACKUP_KEY is not set.")
    CELERY_BEAT_SCHEDULE["nightly-backup"] = {
        "task": "mesoclinic.core.backups.tasks.nightly_backup",
        "schedule": crontab(hour=BACKUP_HOUR_UTC, minute=30),
    }

# --- Email ----------------------------------------------------------------
# EMAIL_URL: smtp://user:pass@host:port (smtp+tls://, smtps://), consolemail:// or filemail://.
vars().update(env.email_url("EMAIL_URL", default="filemail://"))
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default=f"{CLINIC_NAME} <{CLINIC_EMAIL}>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = 15

# --- Static and private files ----------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    # Clinical files (photos, signed PDFs) live outside any public path and are
    # served only by views that check who is asking.
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": env.str("PRIVATE_MEDIA_ROOT", default=str(VAR_DIR / "private"))},
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024

# --- Locale ---------------------------------------------------------------
USE_I18N = True
USE_TZ = True

# --- Forms ----------------------------------------------------------------
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Security -------------------------------------------------------------
_secure_default = not DEBUG
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", _secure_default)
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", _secure_default)
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", _secure_default)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if _secure_default else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", _secure_default)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if envbool("BEHIND_PROXY", False) else None
)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 10)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# The camera is used for clinical photos (file input with capture); nothing else.
PERMISSIONS_POLICY = (
    "camera=(self), microphone=(), geolocation=(), payment=(), usb=(), "
    "interest-cohort=(), browsing-topics=()"
)

# Content Security Policy, enforced: scripts and styles only from our own static
# files (no inline code, no eval); FullCalendar injects its stylesheet with the
# page's nonce. Nothing may frame a page.
from csp.constants import NONCE, NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF, "data:"],  # FullCalendar's icon font is a data: URI
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}
