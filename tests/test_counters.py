"""Counters a process gathers and sends once a second (placements per minute, callback answer times)."""

from __future__ import annotations

import pytest
import redis

from core import counters
from tests.outages import OwnRedis, wait_until


@pytest.fixture
def own_redis(settings):
    server = OwnRedis().start()
    settings.REDIS_URL = server.url
    counters.counters_send()  # nothing of an earlier test's left to send to this one
    yield server
    server.kill()


def test_gathered_counts_reach_redis_within_a_second_without_another_request(own_redis):
    store = redis.Redis.from_url(own_redis.url)
    counters.counters_incr_soon(["t:a", "t:b"], 60)
    counters.counters_incr_soon(["t:a"], 60)
    assert store.get("t:a") is None  # gathered, not sent per call
    wait_until(lambda: store.get("t:a") == b"2", timeout=5, interval=0.1)
    assert store.get("t:b") == b"1"
    assert 0 < store.ttl("t:a") <= 60


def test_a_reader_sees_its_own_process_counts_at_once(own_redis):
    counters.counters_incr_soon(["t:c"], 60)
    assert counters.counter_get_many(["t:c", "t:none"]) == {"t:c": 1}


def test_counts_gathered_while_redis_is_down_are_sent_once_it_is_back(own_redis):
    store = redis.Redis.from_url(own_redis.url)
    own_redis.kill()
    counters.counters_incr_soon(["t:d"], 60)
    with pytest.raises((redis.RedisError, OSError)):
        counters.counters_send()
    counters.counters_incr_soon(["t:d"], 60)
    own_redis.process = None
    own_redis.start()  # the same port, empty
    counters.counters_send()
    assert store.get("t:d") == b"2"
