"""Test settings: real PostgreSQL and Redis on this machine (override with DATABASE_URL / REDIS_URL)."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/shop")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")

from .base import *  # noqa: F403

SECRET_KEY = "test-only-secret-key-not-for-any-real-use-0123456789abcdef"

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
API_THROTTLE_RATE = "100000/min"
CALLBACK_THROTTLE_RATE = "100000/min"
# Callbacks applied before the answer, so a test reads the outcome right after posting one; the worker
# path (the default) has tests of its own that switch this back (tests/payments/test_inbox.py).
PAYMENTS_CALLBACKS_APPLIED = "inline"
