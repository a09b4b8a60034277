"""Settings shared by every environment; everything configurable comes from the environment."""
import re
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()

# --- core -------------------------------------------------------------------------------
SECRET_KEY = env("DJANGO_SECRET_KEY", default="embedded-demo-only-not-secret")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
# Keyed digest of resident ID numbers (HMAC-SHA256). Rotating it orphans every stored digest.
PERSON_ID_HASH_KEY = env("PERSON_ID_HASH_KEY", default="embedded-demo-id-hash-key")

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded mode: one file, many readers, writers queue instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)


def replica_databases(primary: dict) -> dict[str, dict]:
    """Streaming replicas of the primary (`DATABASE_REPLICA_URLS`, docs/scaling.md) as aliases
    `replica_1`, …: the public status read and staff list pages are served by a healthy one
    (health/replicas.py); everything else stays on the primary."""
    replicas = {}
    for index, url in enumerate(env.list("DATABASE_REPLICA_URLS", default=[]), start=1):
        replica = env.db_url_config(url)
        replica.update(
            ATOMIC_REQUESTS=False,
            CONN_MAX_AGE=primary.get("CONN_MAX_AGE", 0),
            CONN_HEALTH_CHECKS=primary.get("CONN_HEALTH_CHECKS", False),
            # Tests reach the primary's test database through the replica (physical replication).
            TEST={"MIRROR": "default"},
        )
        # A replica that does not answer is given up quickly: the read goes to the primary instead.
        replica.setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)
        replicas[f"replica_{index}"] = replica
    return replicas


DATABASES.update(replica_databases(DATABASES["default"]))
DATABASE_REPLICAS = [alias for alias in DATABASES if alias != "default"]
DATABASE_ROUTERS = ["health.replicas.ReplicaRouter"] if DATABASE_REPLICAS else []
# A replica further behind than this (pg_last_xact_replay_timestamp) is skipped until it catches up.
REPLICA_MAX_LAG_SECONDS = env.float("REPLICA_MAX_LAG_SECONDS", default=2.0)
# How often a process checks a replica's health (lag, paused replay, answering).
REPLICA_CHECK_SECONDS = env.float("REPLICA_CHECK_SECONDS", default=1.0)
# The public status read as a server-side prepared statement (health/prepared.py); off behind a
# connection pooler in transaction mode that does not keep prepared statements.
PREPARED_STATEMENTS = env.bool("PREPARED_STATEMENTS", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "config.apps.HealthAdminConfig",  # django.contrib.admin with the 2FA-aware site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",  # staff API tokens: hashed at rest, with an expiry
    "rest_framework_api_key",  # machine keys (health.MachineKey); its own APIKey table is unused
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI from our own static files, not a CDN
    "django_celery_beat",
    "simple_history",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "health",
    "communities",
    "hotels",
    "entrants",
    "staff",  # the staff layer above the record apps: admin site, person page, dashboards
    "health.passes",  # the signed pass of a status answer and its verification (docs/pass.md)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before sessions and authentication, which would look a NUL-bearing cookie or token up in PostgreSQL.
    "config.security.NulCharacterMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "config.security.AbsoluteSessionLifetimeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After a staff member's write, their list pages read the primary (only with replicas configured).
    "health.replicas.PrimaryAfterWriteMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last: turns a lockout flagged during authentication into its answer.
    "axes.middleware.AxesMiddleware",
]

# The public status query's handler runs only these (config/public.py): security headers, the NUL
# refusal, the label's language, Content-Length, X-Frame-Options. Not sessions, authentication,
# CSRF (the view is exempt), messages, two factors, lockouts or history: nobody is signed in there.
PUBLIC_MIDDLEWARE = [
    name
    for name in MIDDLEWARE
    if name
    in {
        "django.middleware.security.SecurityMiddleware",
        "config.security.NulCharacterMiddleware",
        "django.middleware.locale.LocaleMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    }
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

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- staff sign-in: lockouts, two factors, short sessions (docs/security.md) -------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out account before the password is tried
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.int("AXES_COOLOFF_HOURS", default=1)  # hours
# One account from one address: a guesser is stopped without letting anyone lock a colleague out
# from elsewhere; the token endpoint's per-address throttle bounds spraying many accounts.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "config.security.client_address"
AXES_RESET_ON_SUCCESS = True
AXES_SENSITIVE_PARAMETERS = ["password", "otp_token", "id_number"]
# Two-factor login to the admin (TOTP). Off only in the embedded demo: production forces it on
# and `check --deploy` warns if it is off.
ADMIN_OTP_REQUIRED = env.bool("ADMIN_OTP_REQUIRED", default=False)
OTP_TOTP_ISSUER = "健康宝"
# Idle limit: a session unused for 30 minutes ends (the expiry moves with each request).
SESSION_COOKIE_AGE = 30 * 60
SESSION_SAVE_EVERY_REQUEST = True
# Absolute limit: 12 hours after sign-in, however busy (config.security.AbsoluteSessionLifetimeMiddleware).
SESSION_ABSOLUTE_SECONDS = 12 * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- language and time: Chinese first, Beijing time ---------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# --- caches (throttle counters are shared through Redis when it is configured) -------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- signed passes (docs/pass.md) ------------------------------------------------------------
# The signing key (PEM, P-256) in production; empty: a key generated and kept under PASS_KEY_DIR.
PASS_SIGNING_KEY = env("PASS_SIGNING_KEY", default="")
PASS_KEY_DIR = Path(env("PASS_KEY_DIR", default=str(BASE_DIR / "var" / "pass-keys")))
PASS_ISSUER = env("PASS_ISSUER", default="health-kit")
PASS_TTL = env.int("PASS_TTL", default=4 * 3600)  # seconds; also capped by valid_until and Beijing midnight
# A pass is signed once per answer: the same answer within this many seconds gets the same pass back.
PASS_REUSE = env.int("PASS_REUSE", default=300)
# A retired key stays published this long after PASS_TTL (processes that still sign with it while a new key rolls out).
PASS_ROTATION_GRACE = env.int("PASS_ROTATION_GRACE", default=1800)

# --- REST framework ----------------------------------------------------------------------
# The public budgets (docs/security.md): per client address and per ID number and name (the owner's own),
PUBLIC_THROTTLE_RATE = env("PUBLIC_THROTTLE_RATE", default="60/minute")
# a ceiling per ID number whatever the name (bounds guessing names; above what one address can send),
PUBLIC_ID_NUMBER_CEILING_RATE = env("PUBLIC_ID_NUMBER_CEILING_RATE", default="300/minute")
# and the owner's budgets of declarations and correction requests, per ID number and name.
DECLARATION_THROTTLE_RATE = env("DECLARATION_THROTTLE_RATE", default="10/hour")
CORRECTION_THROTTLE_RATE = env("CORRECTION_THROTTLE_RATE", default="5/hour")
# Refused at start-up, not with a 500 on every public request: "N/second|minute|hour|day" (DRF's form).
for _name in ("PUBLIC_THROTTLE_RATE", "PUBLIC_ID_NUMBER_CEILING_RATE", "DECLARATION_THROTTLE_RATE", "CORRECTION_THROTTLE_RATE"):
    if not re.fullmatch(r"[1-9][0-9]*/(s|m|h|d)[a-z]*", globals()[_name]):
        raise ImproperlyConfigured(f"{_name} must look like 60/minute, not {globals()[_name]!r}")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "health.auth.StaffTokenAuthentication",
        "health.auth.MachineKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's parsers, with JSON nested past the decoder's depth answered 400 instead of 500.
    "DEFAULT_PARSER_CLASSES": [
        "health.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "health.api.schema.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "health.api.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "public_address": PUBLIC_THROTTLE_RATE,
        "public_person": PUBLIC_THROTTLE_RATE,
        "public_id_number": PUBLIC_ID_NUMBER_CEILING_RATE,
        "declaration_person": DECLARATION_THROTTLE_RATE,
        "correction_person": CORRECTION_THROTTLE_RATE,
    },
    # The number of reverse proxies in front of the app: set explicitly, never guessed.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}
# Staff API tokens (django-rest-knox): `Authorization: Token <token>`, stored as a SHA-512 digest,
# ending 12 hours after issue however busy (not sliding: the absolute limit of an admin session),
# revoked when the password changes or the account is deactivated (health/auth.py).
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=env.int("API_TOKEN_TTL_HOURS", default=12)),
    "AUTO_REFRESH": False,
    "AUTH_HEADER_PREFIX": "Token",
    "TOKEN_LIMIT_PER_USER": None,
}
# Whether an account with no confirmed TOTP device gets an API token for its password alone: off
# only in the embedded demo (production forces it on, like the admin's second factor). An account
# with a device always has to send its current code.
API_TOKEN_OTP_REQUIRED = env.bool("API_TOKEN_OTP_REQUIRED", default=ADMIN_OTP_REQUIRED)
# A rotated machine key keeps working this long, so that its system can be given the new one.
MACHINE_KEY_ROTATION_GRACE_HOURS = env.int("MACHINE_KEY_ROTATION_GRACE_HOURS", default=24)
SPECTACULAR_SETTINGS = {
    "TITLE": "健康宝 Health Kit API",
    "DESCRIPTION": "Health statuses computed from community, hotel, border and health-authority records.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Celery --------------------------------------------------------------------------------
# No broker configured: the embedded mode runs every task in-process, right after commit.
CELERY_TASK_ALWAYS_EAGER = not env("CELERY_BROKER_URL", default="")
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="") or "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A worker keeps its database connection across tasks as a web process keeps it across requests
# (CONN_MAX_AGE, checked around each task: config/celery_app.py). Celery's Django fixup would close
# it around every task; with this it closes it only every this many tasks (a connection per task
# cost ~27 ms of a person's propagation, docs/scaling.md "Fourth round").
CELERY_DB_REUSE_MAX = 1000
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Publishing must fail fast when the broker is down: the durable dirty mark and the sweep repair it.
# Measured (tests/reliability): refused connection ~0.01-0.2 s; a broker that accepts and never
# answers costs one socket_timeout (2 s). See docs/reliability.md.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
# The longest a task may run (a recompute chunk takes seconds; marking a million persons dirty a
# minute or two); the broker's visibility timeout below must stay longer, or a running task would
# be handed to a second worker.
CELERY_TASK_TIME_LIMIT = 1800
CELERY_TASK_SOFT_TIME_LIMIT = 1500
# A worker that loses its broker connection gives its unacknowledged tasks back instead of finishing
# them unacknowledged (they are redelivered; tasks are idempotent).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,  # > CELERY_TASK_TIME_LIMIT: never redelivered while still running
    "confirm_publish": True,  # RabbitMQ publisher confirms; ignored by Redis
    "socket_connect_timeout": 2,
    "socket_timeout": 2,
    "max_retries": 1,
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "sweep-dirty-and-due-statuses": {"task": "health.tasks.statuses_sweep", "schedule": 5.0},
    # Stays past the window (plus a margin) can no longer change a decision: keep no more than needed.
    "purge-old-itinerary-stays": {"task": "health.tasks.itinerary_purge", "schedule": crontab(hour=3, minute=30)},
    # The stays' month partitions are made two months ahead (a missed day changes nothing).
    "make-itinerary-partitions": {"task": "health.tasks.stays_partitions_ensure", "schedule": crontab(hour=2, minute=50)},
    # Drift that shows itself: a random sample re-decided by the engine, mismatches marked dirty.
    "verify-status-sample": {"task": "health.tasks.statuses_verify_sample", "schedule": 300.0},
}
# Persons the periodic verification re-decides per run (about the cost of recomputing them).
STATUS_VERIFY_SAMPLE_SIZE = env.int("STATUS_VERIFY_SAMPLE_SIZE", default=1000)
# A policy version's impact preview evaluates everyone up to this many persons, else a sample of this many.
POLICY_PREVIEW_LIMIT = env.int("POLICY_PREVIEW_LIMIT", default=100_000)
# Dirty persons older than this are re-enqueued by the sweep (their message may have been lost).
STATUS_SWEEP_GRACE_SECONDS = env.int("STATUS_SWEEP_GRACE_SECONDS", default=5)
# Itinerary data is kept at least this many days, and at least as long as any window published in
# the last 60 days, whatever the current window (health.retention).
RETENTION_FLOOR_DAYS = env.int("RETENTION_FLOOR_DAYS", default=28)
# Persons read, decided and written together (one transaction); a full run's task carries an id
# range of STATUS_RECOMPUTE_CHUNK_SIZE persons (docs/scaling.md: the defaults are the measured fast ones).
STATUS_RECOMPUTE_BATCH_SIZE = env.int("STATUS_RECOMPUTE_BATCH_SIZE", default=2000)
STATUS_RECOMPUTE_CHUNK_SIZE = env.int("STATUS_RECOMPUTE_CHUNK_SIZE", default=10_000)
# Empty: Celery's default queue. A name routes status recomputes to a queue of their own
# (start a worker with `-Q <name>` for it).
STATUS_RECOMPUTE_QUEUE = env("STATUS_RECOMPUTE_QUEUE", default="")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
}
