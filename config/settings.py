"""Settings: the one place that reads the environment (django-environ).

Every variable is listed in the README. Service URLs have no defaults on purpose: `make run`,
`make test` and the bench scripts start embedded servers and set them (config/devstack.py).
"""

import hashlib
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# --- core -------------------------------------------------------------------------------

INSECURE_DEFAULT_SECRET_KEY = "django-insecure-development-only-key-do-not-deploy"  # noqa: S105

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=INSECURE_DEFAULT_SECRET_KEY)
if not DEBUG and SECRET_KEY == INSECURE_DEFAULT_SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is unset (or the development default) while DJANGO_DEBUG is off. "
        "Set DJANGO_SECRET_KEY to a long random value."
    )
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
CSRF_FAILURE_VIEW = "config.errors.csrf_failure"


def _required(var: str) -> str:
    value = env.str(var, default="")
    if not value:
        raise ImproperlyConfigured(
            f"{var} is not set. `make run` and `make test` start embedded servers and set it; "
            f"otherwise point it at a running server (see README, 'Environment')."
        )
    return value


INSTALLED_APPS = [
    "django_prometheus",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "config.apps.ConfigConfig",
    "outbox",
    "accounts",
    "orders",
    "appointments",
    "payments",
    "notifications",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "outbox.middleware.CorrelationIdMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG  # serve app static files without collectstatic in development
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / ".devstack" / "media")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# --- PostgreSQL -------------------------------------------------------------------------

DATABASES = {"default": env.db_url_config(_required("DATABASE_URL"))}
DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# --- Redis: cache, Channels layer, Celery broker ----------------------------------------

REDIS_URL = _required("REDIS_URL")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "cache",
    }
}

# Live pages (outbox/realtime.py). The pub/sub layer of channels-redis: a group_send is one
# PUBLISH, and each web process, subscribed to the groups its sockets joined, hands it to
# them. (The list-based RedisChannelLayer made every waiting socket of a process contend for
# one receive lock, four Redis round trips per message: p99 0.14-0.48 s against 26 ms here
# in bench/realtime.py.) A membership is the process's live subscription: nothing expires
# under a live socket (no group_expiry), and a dead process's memberships end with its
# connection. Sockets send a heartbeat every REALTIME_HEARTBEAT_S and re-join their groups
# with it. The layer queues per channel without a bound, but sockets never block it: each
# one keeps at most REALTIME_SEND_QUEUE_MAX frames unsent, then closes (4429).
REALTIME_HEARTBEAT_S = env.float("REALTIME_HEARTBEAT_S", default=20.0)
REALTIME_SEND_QUEUE_MAX = env.int("REALTIME_SEND_QUEUE_MAX", default=500)
REALTIME_DEDUPE_TTL_S = 3600  # seed 000: pushed event ids are remembered for an hour

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        # redis-py's default 5 s socket timeout would break reads that legitimately wait.
        "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 30}]},
    }
}

CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "outbox-published-cleanup": {
        "task": "outbox.tasks.outbox_published_cleanup",
        "schedule": 600.0,
    },
    "orders-unpaid-cancel": {
        "task": "orders.tasks.orders_unpaid_cancel_task",
        "schedule": 60.0,
    },
    "orders-carts-idle-abandon": {
        "task": "orders.tasks.carts_idle_abandon_task",
        "schedule": 600.0,
    },
    "payments-stale-fail": {
        "task": "payments.tasks.payments_stale_fail_task",
        "schedule": 30.0,
    },
    "payments-idempotency-keys-cleanup": {
        "task": "payments.tasks.idempotency_keys_cleanup_task",
        "schedule": 3600.0,
    },
}

# --- Kafka ------------------------------------------------------------------------------

KAFKA_BOOTSTRAP_SERVERS = _required("KAFKA_BOOTSTRAP_SERVERS")
KAFKA_SECURITY_PROTOCOL = env.str("KAFKA_SECURITY_PROTOCOL", default="PLAINTEXT")
KAFKA_SASL_MECHANISM = env.str("KAFKA_SASL_MECHANISM", default="")
KAFKA_SASL_USERNAME = env.str("KAFKA_SASL_USERNAME", default="")
KAFKA_SASL_PASSWORD = env.str("KAFKA_SASL_PASSWORD", default="")
KAFKA_SSL_CA_LOCATION = env.str("KAFKA_SSL_CA_LOCATION", default="")
# A consumer group's first join waits out the session timeout of departed members: keep it
# short in development and tests (librdkafka's default is 45 s).
KAFKA_SESSION_TIMEOUT_MS = env.int("KAFKA_SESSION_TIMEOUT_MS", default=6000)
# Tansu answers a fetch only when fetch.wait.max.ms runs out; real Kafka returns early.
KAFKA_FETCH_WAIT_MAX_MS = env.int("KAFKA_FETCH_WAIT_MAX_MS", default=10)
KAFKA_REPLICATION_FACTOR = env.int("KAFKA_REPLICATION_FACTOR", default=1)

# Prefix of every topic name: {EVENTS_ENV}.{app}.{aggregate}
EVENTS_ENV = env.str("EVENTS_ENV", default="dev")

# --- outbox and relay (outbox/relay.py) ---------------------------------------------------

OUTBOX_RELAY_BATCH_SIZE = env.int("OUTBOX_RELAY_BATCH_SIZE", default=2000)
# The relay wakes on NOTIFY; it also polls this often in case a notification was missed.
OUTBOX_RELAY_POLL_INTERVAL_S = env.float("OUTBOX_RELAY_POLL_INTERVAL_S", default=1.0)
OUTBOX_RELAY_METRICS_PORT = env.int("OUTBOX_RELAY_METRICS_PORT", default=9101)
# A row the broker refuses (too large, unknown topic) is retried with exponential backoff,
# then parked for staff. Broker outages are not counted: those rows wait, they never park.
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=5)
OUTBOX_RETRY_BACKOFF_S = env.float("OUTBOX_RETRY_BACKOFF_S", default=1.0)
OUTBOX_RETRY_BACKOFF_MAX_S = env.float("OUTBOX_RETRY_BACKOFF_MAX_S", default=300.0)
OUTBOX_DELIVERY_TIMEOUT_MS = env.int("OUTBOX_DELIVERY_TIMEOUT_MS", default=30000)
OUTBOX_COMPRESSION = env.str("OUTBOX_COMPRESSION", default="lz4")
OUTBOX_LINGER_MS = env.int("OUTBOX_LINGER_MS", default=2)
OUTBOX_RETENTION_DAYS = env.int("OUTBOX_RETENTION_DAYS", default=7)

# --- consumer runtime (outbox/consumer.py) -------------------------------------------------

OUTBOX_CONSUMER_BATCH_SIZE = env.int("OUTBOX_CONSUMER_BATCH_SIZE", default=500)
# Seed 000: a failing event is tried again after 1 s, 2 s and 4 s, then dead-lettered.
OUTBOX_CONSUMER_BACKOFF_S = env.list("OUTBOX_CONSUMER_BACKOFF_S", cast=float, default=[1, 2, 4])
OUTBOX_CONSUMER_MAX_ATTEMPTS = env.int(
    "OUTBOX_CONSUMER_MAX_ATTEMPTS", default=len(OUTBOX_CONSUMER_BACKOFF_S) + 1
)
OUTBOX_CONSUMER_METRICS_PORT = env.int("OUTBOX_CONSUMER_METRICS_PORT", default=9102)

# --- REST API ---------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "config.pagination.PagePagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "config.errors.api_exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Event-driven platform API",
    "DESCRIPTION": "Shop, inspections, payments and notifications, connected by events.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI assets are served from the app (drf-spectacular-sidecar), not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- accounts and mail -------------------------------------------------------------------

# The address users reach the API at, for links in mails.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
ACCOUNTS_EMAIL_VERIFY_MAX_AGE_S = env.int("ACCOUNTS_EMAIL_VERIFY_MAX_AGE_S", default=3 * 24 * 3600)
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="no-reply@localhost")

# --- orders ------------------------------------------------------------------------------

# An order not paid within this time is cancelled by a beat job (reason payment_timeout).
ORDERS_PAYMENT_TIMEOUT_S = env.int("ORDERS_PAYMENT_TIMEOUT_S", default=15 * 60)
# An open cart untouched this long is abandoned by a beat job (seeds 001, 004).
ORDERS_CART_ABANDON_AFTER_S = env.int("ORDERS_CART_ABANDON_AFTER_S", default=24 * 3600)

# --- payments ----------------------------------------------------------------------------

# The gateway class (payments/gateways/); the simulator is the only one so far.
PAYMENTS_GATEWAY = env.str(
    "PAYMENTS_GATEWAY", default="payments.gateways.simulator.SimulatorGateway"
)
# The shared secret of the gateway's webhook signatures (HMAC-SHA256). A real processor
# hands you its own; the in-process simulator defaults to one derived from the secret key.
PAYMENTS_WEBHOOK_SECRET = env.str(
    "PAYMENTS_WEBHOOK_SECRET",
    default=hashlib.sha256(f"payments-webhook:{SECRET_KEY}".encode()).hexdigest(),
)
# A webhook whose timestamp is further than this from now is refused (replay window).
PAYMENTS_WEBHOOK_TOLERANCE_S = env.int("PAYMENTS_WEBHOOK_TOLERANCE_S", default=300)
# Where the simulator delivers its webhooks.
PAYMENTS_WEBHOOK_URL = env.str(
    "PAYMENTS_WEBHOOK_URL", default=f"{PUBLIC_BASE_URL}/api/payments/webhook"
)
# The simulator's Celery queue and its pause before each webhook.
PAYMENTS_SIMULATOR_QUEUE = env.str("PAYMENTS_SIMULATOR_QUEUE", default="celery")
PAYMENTS_SIMULATOR_DELAY_S = env.float("PAYMENTS_SIMULATOR_DELAY_S", default=0.5)
# A payment the gateway leaves unanswered this long fails (beat), so it can be paid again.
PAYMENTS_GATEWAY_TIMEOUT_S = env.int("PAYMENTS_GATEWAY_TIMEOUT_S", default=120)
# How long a stored Idempotency-Key answer is replayed.
PAYMENTS_IDEMPOTENCY_TTL_S = env.int("PAYMENTS_IDEMPOTENCY_TTL_S", default=24 * 3600)

# --- logging ----------------------------------------------------------------------------

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="console" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "structured": {
            "()": "config.logging.formatter",
            "fmt": LOG_FORMAT,
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Replaces Django's default "django" handler, which would print each line twice.
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "django.db.backends": {"level": "INFO"},
        "kafka": {"level": LOG_LEVEL},
    },
}
