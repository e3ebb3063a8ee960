"""Production: nothing insecure by default. SECRET_KEY, ALLOWED_HOSTS and METRICS_TOKEN are required; HTTPS,
HSTS and secure cookies are on (each can be tuned from the environment). `manage.py check --deploy` is clean
(tests/test_settings.py)."""

from .base import *  # noqa: F403
from .base import env

SECRET_KEY = env("SECRET_KEY")
DEBUG = False
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
METRICS_TOKEN = env("METRICS_TOKEN")  # Prometheus sends it; /metrics is never open in production
LOGGING["handlers"]["console"]["formatter"] = env("LOG_FORMAT", default="json")  # noqa: F405  one JSON object a line

# Live gateways unless a staging deployment asks for the sandbox ones (and their app) explicitly.
PAYMENTS_SANDBOX = env.bool("PAYMENTS_SANDBOX", default=False)
if not PAYMENTS_SANDBOX:
    INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "payments.sandbox"]  # noqa: F405

# Behind a load balancer that terminates TLS and says so in X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
