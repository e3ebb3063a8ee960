"""Counters every process sees: Redis INCR with an expiry (one round trip), or the Django cache where no
Redis is configured (`make run`). The throttles count requests in windows with them; the order-health page
reads placements per minute and callback answer times from them, which a process gathers and sends once a
second (`counters_incr_soon`) instead of a round trip per request."""

from __future__ import annotations

import collections
import logging
import os
import threading
import time

import redis
from django.conf import settings
from django.core.cache import cache

_clients: dict[str, redis.Redis] = {}


def _client() -> redis.Redis | None:
    if not settings.REDIS_URL:
        return None
    client = _clients.get(settings.REDIS_URL)
    if client is None:
        client = _clients[settings.REDIS_URL] = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5
        )
    return client


def counter_incr(key: str, ttl: int) -> int:
    """INCR + EXPIRE in one Redis round trip; raises redis.RedisError / OSError when Redis is down."""
    return counters_incr([key], ttl)[0]


def counters_incr(keys: list[str], ttl: int) -> list[int]:
    """Several counters in the same round trip; returns their new values."""
    return _add([(key, 1, ttl) for key in keys])


# ttl → counts a process has gathered and not sent yet, and the timer that will send them.
_pending: dict[int, collections.Counter[str]] = {}
_send_timer: threading.Timer | None = None
_pending_lock = threading.Lock()
_sending = threading.Lock()
SEND_SECONDS = 1.0
logger = logging.getLogger(__name__)


def counters_forget_pending() -> None:
    """Drop what this process gathered and not sent: a forked child (gunicorn, celery) starts with none, and
    so does each test."""
    global _send_timer
    _pending.clear()
    _send_timer = None


os.register_at_fork(after_in_child=counters_forget_pending)


def counters_incr_soon(keys: list[str], ttl: int) -> None:
    """Count now, send within SEND_SECONDS: the first count starts a timer, the others join what it sends.
    Best effort: a process that dies loses its last second of counts; while Redis is down they are kept
    and sent with the next ones."""
    global _send_timer
    with _pending_lock:
        _pending.setdefault(ttl, collections.Counter()).update(keys)
        if _send_timer is None:
            _send_timer = threading.Timer(SEND_SECONDS, _send_quietly)
            _send_timer.daemon = True
            _send_timer.start()


def counters_send() -> None:
    """Send what this process gathered (one round trip); raises redis.RedisError / OSError when Redis is
    down, and keeps the counts. Returns once they are in Redis, those the timer is sending included."""
    global _send_timer
    with _sending:  # a reader waits for the timer's send in flight, not only for its own
        with _pending_lock:
            pending = {ttl: counts for ttl, counts in _pending.items() if counts}
            _pending.clear()
            _send_timer = None
        if not pending:
            return
        try:
            _add([(key, n, ttl) for ttl, counts in pending.items() for key, n in counts.items()])
        except BaseException:
            with _pending_lock:
                for ttl, counts in pending.items():
                    _pending.setdefault(ttl, collections.Counter()).update(counts)
            raise


_warned_at = 0.0


def _send_quietly() -> None:
    global _warned_at
    try:
        counters_send()
    except (redis.RedisError, OSError) as exc:
        if time.monotonic() - _warned_at > 60:  # once a minute while Redis is away, not once a second
            _warned_at = time.monotonic()
            logger.warning("counters not sent, kept for the next try: %s", exc)


def _add(amounts: list[tuple[str, int, int]]) -> list[int]:
    """(key, amount, ttl): INCRBY + EXPIRE of each in one round trip; the new values."""
    client = _client()
    if client is not None:
        pipe = client.pipeline(transaction=False)
        for key, amount, ttl in amounts:
            pipe.incrby(key, amount)
            pipe.expire(key, ttl, nx=True)
        return pipe.execute()[::2]
    return [_cache_incr(key, ttl, amount) for key, amount, ttl in amounts]


def _cache_incr(key: str, ttl: int, amount: int = 1) -> int:
    if cache.add(key, amount, timeout=ttl):
        return amount
    try:
        return cache.incr(key, amount)
    except ValueError:  # expired between add and incr
        cache.add(key, amount, timeout=ttl)
        return amount


def counter_get_many(keys: list[str]) -> dict[str, int]:
    """The counters that exist among `keys` (one MGET), this process's own gathered counts sent first."""
    counters_send()
    client = _client()
    if client is not None:
        values = client.mget(keys) if keys else []
        return {k: int(v) for k, v in zip(keys, values, strict=True) if v is not None}
    return {k: int(v) for k, v in cache.get_many(keys).items()}
