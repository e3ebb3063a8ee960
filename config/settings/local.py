"""`make run` and development: SQLite and the SQLite broker unless DATABASE_URL / REDIS_URL say otherwise, a
development SECRET_KEY, everything else as in base."""

from .base import *  # noqa: F403
from .base import env

SECRET_KEY = env("SECRET_KEY", default="dev-insecure-change-me-3b7f0c1e9a")
