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

# What redis-py, and the cache on Redis, raise while Redis is away (OSError: also the file cache of `make run`).
REDIS_DOWN = (redis.RedisError, OSError)

_clients: dict[str, redis.Redis] = {}


def redis_client() -> redis.Redis | None:
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


# key → [its value at this process's last round trip, what this process counted since]
_batched: dict[str, list[int]] = {}
_batched_lock = threading.Lock()
BATCHED_KEYS_KEPT = 10_000


def counter_incr_batched(key: str, ttl: int, every: int) -> int:
    """counter_incr with a round trip only for this process's first count of the key and then every `every`
    counts: the value returned is the counter as last read plus what this process counted since, so each
    other process may have up to `every - 1` counts not seen yet. Raises as counter_incr when Redis is down,
    and keeps the count for the next round trip."""
    if every <= 1:
        return counter_incr(key, ttl)
    with _batched_lock:
        state = _batched.get(key)
        if state is not None:
            state[1] += 1
            if state[1] < every:
                return state[0] + state[1]
            unsent = state[1]
        else:
            if len(_batched) >= BATCHED_KEYS_KEPT:  # past windows' keys: their unsent counts no longer matter
                _batched.clear()
            state = _batched[key] = [0, 1]
            unsent = 1
    value = _add([(key, unsent, ttl)])[0]
    with _batched_lock:
        state[0], state[1] = value, state[1] - unsent  # counts taken meanwhile stay unsent
        return value + state[1]


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
    _batched.clear()


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
    except REDIS_DOWN as exc:
        if time.monotonic() - _warned_at > 60:  # once a minute while Redis is away, not once a second
            _warned_at = time.monotonic()
            logger.warning("counters not sent, kept for the next try: %s", exc)


def _add(amounts: list[tuple[str, int, int]]) -> list[int]:
    """(key, amount, ttl): INCRBY + EXPIRE of each in one round trip; the new values."""
    client = redis_client()
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
    client = redis_client()
    if client is not None:
        values = client.mget(keys) if keys else []
        return {k: int(v) for k, v in zip(keys, values, strict=True) if v is not None}
    return {k: int(v) for k, v in cache.get_many(keys).items()}
