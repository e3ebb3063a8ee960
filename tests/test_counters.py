"""Counters a process gathers and sends once a second (placements per minute, callback answer times)."""

from __future__ import annotations

import time

import pytest
import redis

from core import counters
from tests.outages import wait_until


@pytest.fixture
def own_redis(own_redis):
    counters.counters_send()  # nothing of an earlier test's left to send to this one
    return own_redis


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


def test_a_batched_counter_goes_to_redis_once_per_batch_and_adds_what_others_counted(own_redis):
    store = redis.Redis.from_url(own_redis.url)
    assert counters.counter_incr_batched("t:e", 60, every=3) == 1  # the first count of a key goes at once
    assert store.get("t:e") == b"1"
    store.incrby("t:e", 100)  # other processes' counts
    assert [counters.counter_incr_batched("t:e", 60, every=3) for _ in range(2)] == [2, 3]  # not seen yet
    assert store.get("t:e") == b"101"
    assert counters.counter_incr_batched("t:e", 60, every=3) == 104  # the third: sent, and theirs seen
    assert store.get("t:e") == b"104"
    assert 0 < store.ttl("t:e") <= 60


def test_the_throttle_lets_at_most_a_batch_more_through_than_the_rate(own_redis, settings):
    """Another process's requests of the window are seen at this one's next round trip (every 3rd request at
    300 a window): what they and this process let through together stays within the rate + 2."""
    from config.api import TokenRateThrottle

    settings.API_THROTTLE_RATE = "300/day"
    store, throttle = redis.Redis.from_url(own_redis.url), TokenRateThrottle()
    key = f"throttle:t:f:{int(time.time() // 86400)}"
    assert throttle.allow("t:f")
    store.incrby(key, 298)  # let through elsewhere meanwhile
    allowed = 1
    while throttle.allow("t:f"):
        allowed += 1
    assert 298 + allowed <= 300 + 2
    assert allowed == 3  # two counted here before the round trip that saw the others'
    assert not throttle.allow("t:f") and not throttle.allow("t:f")  # refused from here on
