"""Settings shared by every environment, read from the environment (django-environ). `local` (make run),
`production` and `test` build on this module, as in cookiecutter-django."""

from decimal import Decimal
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# SECRET_KEY: local.py and test.py give development keys; production.py requires it from the environment.
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "unfold",  # the admin's theme: before django.contrib.admin, whose templates it overrides
    "unfold.contrib.filters",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_api_key",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_fsm",
    "core",
    "inventory",
    "orders",
    "payments",
    "notifications",  # its event handlers register first: "payment received" is sent before "being prepared"
    "fulfillment",
    "webhooks",
]

MIDDLEWARE = [
    "config.ops.RequestTimingMiddleware",
    "config.logs.RequestIdMiddleware",
    "config.db.ReplicaReadsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.api.UntrustedInputMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # admin and Swagger UI assets, with or without DEBUG
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
                "django.template.context_processors.i18n",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
# A streaming read replica of the primary: the admin's lists, the order-health page and the catalogue read
# from it (config/db.py); without it everything reads from the primary.
if env("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = {
        **env.db("DATABASE_REPLICA_URL"),
        "ENGINE": "config.postgres",
        "CONN_MAX_AGE": env.int("CONN_MAX_AGE", default=600),
        "CONN_HEALTH_CHECKS": True,
        "TEST": {"MIRROR": "default"},  # tests read the test database through it
    }
DATABASE_ROUTERS = ["config.db.ReplicaRouter"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Persistent connections: a new connection per request costs more than a placement.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=600)
    # Checked before each request's first query, without a round trip while the connection is quiet.
    DATABASES["default"]["ENGINE"] = "config.postgres"
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Server-side parameters: psycopg sends values apart from the SQL instead of quoting them into it, and
    # prepares a statement once it has run 5 times on a connection, so PostgreSQL can stop re-planning it
    # (it keeps a generic plan it judges no dearer: inventory.services._reserve_sql says how to help it).
    # Off behind a transaction-pooling PgBouncer older than 1.21 (it cannot keep prepared statements).
    if env.bool("DATABASE_SERVER_SIDE_BINDING", default=True):
        DATABASES["default"].setdefault("OPTIONS", {}).update({"server_side_binding": True, "prepare_threshold": 5})
else:
    # SQLite (the `make run` default): web, worker and beat share one file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = env("LANGUAGE_CODE", default="en")
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "config" / "locale"]
TIME_ZONE = env("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# Served by WhiteNoise from STATIC_ROOT after `collectstatic` (production, `make run`), else from the apps.
WHITENOISE_USE_FINDERS = not (STATIC_ROOT / "admin").exists()

LOG_FORMAT = env("LOG_FORMAT", default="plain")  # plain for people; json (production's default) for collectors
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "config.logs.json_formatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "level": env("LOG_LEVEL", default="INFO"),
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}

# --- API ---------------------------------------------------------------------------------------
API_THROTTLE_RATE = env("API_THROTTLE_RATE", default="600/min")
# How long a process trusts a key it verified (a revoked key stops working everywhere within this).
STOREFRONT_KEY_CACHE_SECONDS = env.int("STOREFRONT_KEY_CACHE_SECONDS", default=5)
# Per gateway or carrier and source address, before the signature is checked (gateways burst from few IPs).
CALLBACK_THROTTLE_RATE = env("CALLBACK_THROTTLE_RATE", default="3000/min")
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024  # no storefront or admin body comes near; callbacks stop at 64 KiB
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["orders.auth.StorefrontKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["config.api.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": API_THROTTLE_RATE},
    # Proxies in front of us that append to X-Forwarded-For (the callback limit is per source address; with
    # 0 the address is the connection's, so a forged header cannot buy a fresh limit).
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["config.api.StrictJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Shop back office API",
    "DESCRIPTION": "Storefront, gateway-callback and operations API (contract v1.1). Staff work in the "
    "[back office](/admin/).",
    "VERSION": "1.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "config.api.schema_error_responses"],
}

# --- Shop rules (documented in README) ---------------------------------------------------------
SHOP_CURRENCY = env("SHOP_CURRENCY", default="CNY")
RESERVATION_MINUTES = env.int("RESERVATION_MINUTES", default=15)
SHIPPING_STANDARD_FEE = Decimal(env("SHIPPING_STANDARD_FEE", default="10.00"))
SHIPPING_EXPRESS_FEE = Decimal(env("SHIPPING_EXPRESS_FEE", default="25.00"))
FREE_SHIPPING_THRESHOLD = Decimal(env("FREE_SHIPPING_THRESHOLD", default="99.00"))
TAX_RATE = Decimal(env("TAX_RATE", default="0.00"))
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=48)
DUPLICATE_WINDOW_MINUTES = 10
REVIEW_WINDOW_MINUTES = 5
REVIEW_THRESHOLD = 3

# --- Payments (sandbox gateways sign like the real ones with keys generated under var/) ---------------
PAYMENTS_SANDBOX = env.bool("PAYMENTS_SANDBOX", default=True)
if PAYMENTS_SANDBOX:  # the sandbox gateways and their ledger (production.py leaves them out by default)
    INSTALLED_APPS.append("payments.sandbox")
PAYMENTS_SANDBOX_KEY_DIR = env("PAYMENTS_SANDBOX_KEY_DIR", default=str(VAR_DIR / "sandbox_keys"))
PAYMENTS_CALLBACK_BASE_URL = env("PAYMENTS_CALLBACK_BASE_URL", default="http://127.0.0.1:8000")
PAYMENTS_CALLBACK_TOLERANCE_SECONDS = env.int("PAYMENTS_CALLBACK_TOLERANCE_SECONDS", default=300)
PAYMENTS_QUERY_AFTER_MINUTES = env.int("PAYMENTS_QUERY_AFTER_MINUTES", default=10)
# "worker": a callback is answered once checked and stored, and a worker applies it from the inbox (a
# placement burst never makes a gateway wait); "inline": applied before the answer, which then tells the
# gateway the outcome (the test suite, whose callback tests read the order right after the answer).
PAYMENTS_CALLBACKS_APPLIED = env("PAYMENTS_CALLBACKS_APPLIED", default="worker")
ALIPAY_APP_ID = env("ALIPAY_APP_ID", default="2021000000000000")
ALIPAY_PUBLIC_KEY = env("ALIPAY_PUBLIC_KEY", default="")  # Alipay's public key (PEM), verifies notifications
ALIPAY_APP_PRIVATE_KEY = env("ALIPAY_APP_PRIVATE_KEY", default="")  # ours (PEM), signs requests
ALIPAY_GATEWAY_URL = env("ALIPAY_GATEWAY_URL", default="https://openapi.alipay.com/gateway.do")
WECHATPAY_MCHID = env("WECHATPAY_MCHID", default="1900000109")
WECHATPAY_APPID = env("WECHATPAY_APPID", default="wxd678efh567hg6787")
WECHATPAY_APIV3_KEY = env("WECHATPAY_APIV3_KEY", default="")
WECHATPAY_PLATFORM_CERT = env("WECHATPAY_PLATFORM_CERT", default="")  # platform certificate (PEM)
WECHATPAY_PLATFORM_SERIAL = env("WECHATPAY_PLATFORM_SERIAL", default="")
WECHATPAY_MCH_PRIVATE_KEY = env("WECHATPAY_MCH_PRIVATE_KEY", default="")  # ours (PEM), signs API v3 requests
WECHATPAY_MCH_SERIAL = env("WECHATPAY_MCH_SERIAL", default="")  # serial of our merchant API certificate
WECHATPAY_API_URL = env("WECHATPAY_API_URL", default="https://api.mch.weixin.qq.com")
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_URL = env("STRIPE_API_URL", default="https://api.stripe.com")
PAYPAL_WEBHOOK_ID = env("PAYPAL_WEBHOOK_ID", default="WH-SANDBOX-0000000000")
PAYPAL_WEBHOOK_CERT = env("PAYPAL_WEBHOOK_CERT", default="")  # PayPal's signing certificate (PEM)
PAYPAL_CLIENT_ID = env("PAYPAL_CLIENT_ID", default="")
PAYPAL_CLIENT_SECRET = env("PAYPAL_CLIENT_SECRET", default="")
PAYPAL_API_URL = env("PAYPAL_API_URL", default="https://api-m.paypal.com")  # sandbox: https://api-m.sandbox.paypal.com
PAYPAL_RETURN_URL = env("PAYPAL_RETURN_URL", default="")  # the storefront page PayPal sends the buyer back to
PAYPAL_CANCEL_URL = env("PAYPAL_CANCEL_URL", default="")

# --- Fulfillment -------------------------------------------------------------------------------------------
TRACKING_POLL_HOURS = env.int("TRACKING_POLL_HOURS", default=4)
TRACKING_MAX_CHECKS = env.int("TRACKING_MAX_CHECKS", default=72)
SHIPMENT_STALE_HOURS = env.int("SHIPMENT_STALE_HOURS", default=48)
SLOW_ORDER_SECONDS = env.int("SLOW_ORDER_SECONDS", default=30)  # ready → picking lists sent; over it, staff hear
PICK_SLA_HOURS = env.int("PICK_SLA_HOURS", default=24)  # confirmed longer than this and not picked: stuck
AFTER_SALES_DAYS = env.int("AFTER_SALES_DAYS", default=7)
RETURN_WINDOW_DAYS = env.int("RETURN_WINDOW_DAYS", default=7)  # from delivery (seven days without a reason)
# Carriers: endpoints default to each platform's test environment; empty credentials keep an adapter off.
SF_API_URL = env("SF_API_URL", default="https://sfapi-sbox.sf-express.com/std/service")
SF_PARTNER_ID = env("SF_PARTNER_ID", default="")  # 顾客编码
SF_CHECKWORD = env("SF_CHECKWORD", default="")  # 校验码: signs requests, verifies route pushes
SF_MONTHLY_CARD = env("SF_MONTHLY_CARD", default="")  # 月结卡号
SF_EXPRESS_TYPE = env.int("SF_EXPRESS_TYPE", default=2)  # 2 = 顺丰标快
ZTO_API_URL = env("ZTO_API_URL", default="https://japi-test.zto.com")
ZTO_APP_KEY = env("ZTO_APP_KEY", default="")
ZTO_APP_SECRET = env("ZTO_APP_SECRET", default="")  # signs requests, verifies track pushes
ZTO_ACCOUNT_ID = env("ZTO_ACCOUNT_ID", default="")  # e-waybill account
ZTO_ACCOUNT_PASSWORD = env("ZTO_ACCOUNT_PASSWORD", default="")
YTO_API_URL = env("YTO_API_URL", default="https://openuat.yto56test.com:6443")
YTO_APP_KEY = env("YTO_APP_KEY", default="")
YTO_CUSTOMER_CODE = env("YTO_CUSTOMER_CODE", default="")
YTO_SECRET = env("YTO_SECRET", default="")  # signs requests, verifies track pushes

# --- Notifications ----------------------------------------------------------------------------------------
CUSTOMER_DEFAULT_LANGUAGE = env("CUSTOMER_DEFAULT_LANGUAGE", default="zh-hans")
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="shop@example.com")
SMS_BACKEND = env("SMS_BACKEND", default="console")  # console, file, twilio
SMS_FILE_DIR = env("SMS_FILE_DIR", default=str(VAR_DIR / "sms"))
PUSH_BACKEND = env("PUSH_BACKEND", default="console")  # console, file, providers (FCM and JPush below)
FCM_SERVICE_ACCOUNT_FILE = env("FCM_SERVICE_ACCOUNT_FILE", default="")  # the Firebase service account's JSON key
FCM_API_URL = env("FCM_API_URL", default="https://fcm.googleapis.com")
JPUSH_APP_KEY = env("JPUSH_APP_KEY", default="")
JPUSH_MASTER_SECRET = env("JPUSH_MASTER_SECRET", default="")
JPUSH_API_URL = env("JPUSH_API_URL", default="https://api.jpush.cn")
PUSH_FILE_DIR = env("PUSH_FILE_DIR", default=str(VAR_DIR / "push"))
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM = env("TWILIO_FROM", default="")
TWILIO_API_URL = env("TWILIO_API_URL", default="https://api.twilio.com")
NOTIFY_MAX_ATTEMPTS = env.int("NOTIFY_MAX_ATTEMPTS", default=5)
NOTIFY_RETRY_BASE_SECONDS = env.int("NOTIFY_RETRY_BASE_SECONDS", default=30)
# A message "sending" this long belongs to a worker that died: the sweep queues it again.
NOTIFY_SENDING_TIMEOUT_SECONDS = env.int("NOTIFY_SENDING_TIMEOUT_SECONDS", default=600)
REVIEW_INVITATION_HOURS = env.int("REVIEW_INVITATION_HOURS", default=24)
SLOW_PROCESSING_HOURS = env.int("SLOW_PROCESSING_HOURS", default=48)
# Staff e-mail per event: STAFF_NOTIFY_RESTOCK_ALERT=a@x.com,b@x.com etc.; STAFF_NOTIFY_DEFAULT for the rest.
STAFF_NOTIFY = {
    event: env.list(
        f"STAFF_NOTIFY_{event.upper()}", default=env.list("STAFF_NOTIFY_DEFAULT", default=["ops@example.com"])
    )
    for event in (
        "restock_alert",
        "amount_mismatch",
        "late_payment",
        "shipment_exception",
        "slow_processing",
        "webhook_disabled",
        "slow_order",
        "daily_report",
    )
}

# --- Public tracking page ------------------------------------------------------------------------------------
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")  # where customers reach /t/<token>/
TRACKING_PAGE_THROTTLE_RATE = env("TRACKING_PAGE_THROTTLE_RATE", default="60/min")  # per source address
TRACKING_PAGE_CACHE_SECONDS = env.int("TRACKING_PAGE_CACHE_SECONDS", default=30)

# --- Outgoing webhooks -----------------------------------------------------------------------------------------
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10)
WEBHOOK_DISABLE_AFTER_DAYS = env.int("WEBHOOK_DISABLE_AFTER_DAYS", default=5)
WEBHOOK_SWEEP_SECONDS = env.float("WEBHOOK_SWEEP_SECONDS", default=20)  # a sweep's time budget
WEBHOOK_ENDPOINTS_CACHE_SECONDS = env.float("WEBHOOK_ENDPOINTS_CACHE_SECONDS", default=5)  # per process

# --- Sweeps (core/sweeps.py): each beat run works until nothing is due or its time box is spent -------------
SWEEP_WORKERS = env.int("SWEEP_WORKERS", default=2)  # runs side by side (SKIP LOCKED) when a backlog is found
SWEEP_SECONDS = {  # time boxes, shorter than each beat interval (config/celery_app.py)
    "expiry": env.float("SWEEP_EXPIRY_SECONDS", default=50),
    "stale_payments": env.float("SWEEP_STALE_PAYMENTS_SECONDS", default=100),
    "unfulfilled": env.float("SWEEP_UNFULFILLED_SECONDS", default=25),
    "tracking": env.float("SWEEP_TRACKING_SECONDS", default=50),
    "notifications": env.float("SWEEP_NOTIFICATIONS_SECONDS", default=25),
    "payment_inbox": env.float("SWEEP_PAYMENT_INBOX_SECONDS", default=25),
}

# Work queued by a request (a placement's e-mail) is sent by one task per this many seconds per web process,
# not one broker message per request (config.celery_app.wake_on_commit).
WAKE_DELAY_SECONDS = env.float("WAKE_DELAY_SECONDS", default=0.5)

# --- Operations ---------------------------------------------------------------------------------------------
METRICS_TOKEN = env("METRICS_TOKEN", default="")  # when set, /metrics wants `Authorization: Bearer <token>`


# --- Celery ------------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or f"sqla+sqlite:///{VAR_DIR / 'broker.sqlite3'}")
CELERY_TASK_ACKS_LATE = True
# A queue per kind of work, so each can get its own consumers (`celery worker -Q webhooks`); a worker started
# without -Q consumes them all (`make run`). Anything unrouted goes to "celery".
CELERY_TASK_QUEUES = [
    Queue(name) for name in ("celery", "callbacks", "fulfillment", "notifications", "webhooks", "tracking", "sweeps")
]
CELERY_TASK_ROUTES = {
    "payments.tasks.*": {"queue": "callbacks"},  # follow-ups of gateway callbacks: stale-payment queries
    "fulfillment.tasks.poll_tracking": {"queue": "tracking"},
    "fulfillment.tasks.*": {"queue": "fulfillment"},
    "notifications.tasks.*": {"queue": "notifications"},
    "webhooks.tasks.*": {"queue": "webhooks"},
    "orders.tasks.*": {"queue": "sweeps"},  # expiry, completion, purges
}
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Redis redelivers an unacked task after the visibility timeout: keep it longer than any task runs.
# (The SQLite broker of `make run` passes these options to SQLAlchemy, which knows no such option.)
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {"visibility_timeout": 3600, "socket_connect_timeout": 2} if CELERY_BROKER_URL.startswith("redis") else {}
)
# A publish to a broker that is down gives up within a second: the request has committed, and the beat
# sweeps find its work (enqueue_on_commit logs the failure).
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
# No task should run this long (carrier and gateway calls time out after 10 s); the hard limit stays well under
# the Redis visibility timeout, so a stuck task is killed and retried rather than run twice. (Enforced by the
# prefork pool of production workers; `make run`'s solo worker does not enforce them.)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# The admin (django-unfold): home is each staff group's to-do list; "View site" opens the API docs.
UNFOLD = {
    "SITE_TITLE": _("Shop back office"),
    "SITE_HEADER": _("Shop back office"),
    "SITE_URL": "/api/docs/",
    "SITE_SYMBOL": "storefront",
    "DASHBOARD_CALLBACK": "core.dashboard.dashboard_callback",
    "SHOW_LANGUAGES": False,
    "SIDEBAR": {"show_search": True, "show_all_applications": True},
}
