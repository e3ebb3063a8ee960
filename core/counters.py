"""Counters every process sees: Redis INCR with an expiry (one round trip), or the Django cache where no
Redis is configured (`make run`). The throttles count requests in windows with them; the order-health page
reads placements per minute from them."""

from __future__ import annotations

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
    """Several counters in the same round trip (a placement counts its outcome per minute and per hour)."""
    client = _client()
    if client is not None:
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.incr(key)
            pipe.expire(key, ttl, nx=True)
        return pipe.execute()[::2]
    return [_cache_incr(key, ttl) for key in keys]


def counters_add(amounts: dict[str, int], ttl: int) -> None:
    """Add to several counters in one round trip (counts a process gathered before sending them)."""
    client = _client()
    if client is not None:
        pipe = client.pipeline(transaction=False)
        for key, amount in amounts.items():
            pipe.incrby(key, amount)
            pipe.expire(key, ttl, nx=True)
        pipe.execute()
        return
    for key, amount in amounts.items():
        _cache_incr(key, ttl, amount)


def _cache_incr(key: str, ttl: int, amount: int = 1) -> int:
    if cache.add(key, amount, timeout=ttl):
        return amount
    try:
        return cache.incr(key, amount)
    except ValueError:  # expired between add and incr
        cache.add(key, amount, timeout=ttl)
        return amount


def counter_get_many(keys: list[str]) -> dict[str, int]:
    """The counters that exist among `keys` (one MGET)."""
    client = _client()
    if client is not None:
        values = client.mget(keys) if keys else []
        return {k: int(v) for k, v in zip(keys, values, strict=True) if v is not None}
    return {k: int(v) for k, v in cache.get_many(keys).items()}
