"""Claims that runs side by side take on their work for a moment, so no two do the same item.

A Redis key per item, taken with SET NX and an expiry in one script (up to a limit, in the order given) and
given back by the run that took it; a run that dies leaves its claims to expire. Redis rather than a
PostgreSQL session advisory lock: behind a transaction-pooling PgBouncer a session's lock and its unlock may
land on different server connections, and the lock stays held. A claim is only ever an optimisation: what
keeps work done once is the database (row locks, the rows read again under them). Without Redis (`make
run`), or while it is away, nothing is claimed and every item is free.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from core.counters import REDIS_DOWN, redis_client

logger = logging.getLogger(__name__)

# KEYS: the items' keys; ARGV: this run's token, the expiry in seconds, the most to take. Returns the positions
# (1-based) of the keys taken.
TAKE = """
local taken = {}
for i, key in ipairs(KEYS) do
  if #taken >= tonumber(ARGV[3]) then break end
  if redis.call('SET', key, ARGV[1], 'NX', 'EX', ARGV[2]) then taken[#taken + 1] = i end
end
return taken
"""
# Only this run's: a claim that expired and another run took stays that run's.
GIVE_BACK = """
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key) end
end
"""


@contextmanager
def claimed(kind: str, items: list, limit: int, *, ttl: int = 30) -> Iterator[list]:
    """The first `limit` of `items` no other run holds a claim on, claimed for the block (at most `ttl` s)."""
    client = redis_client()
    if client is None or not items:
        yield items[:limit]
        return
    token, keys = uuid.uuid4().hex, [f"claim:{kind}:{item}" for item in items]
    try:
        positions = client.eval(TAKE, len(keys), *keys, token, ttl, limit)
    except REDIS_DOWN:
        logger.warning("claims for %s not taken (Redis is away): runs side by side may do the same ones", kind)
        yield items[:limit]
        return
    taken = [items[i - 1] for i in positions]
    try:
        yield taken
    finally:
        if taken:
            with suppress(*REDIS_DOWN):  # they expire
                client.eval(GIVE_BACK, len(taken), *[keys[i - 1] for i in positions], token)
