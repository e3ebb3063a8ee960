"""Claims runs side by side take on their work (core.claims), on a Redis of the test's own."""

from __future__ import annotations

import time

import redis

from core.claims import claimed


def test_runs_side_by_side_take_different_items_in_the_order_given_and_give_them_back(own_redis):
    items = [5, 3, 9, 1, 7]
    with claimed("t", items, 2) as first:
        with claimed("t", items, 2) as second, claimed("t", items, 2) as third:
            assert (first, second, third) == ([5, 3], [9, 1], [7])
        with claimed("t", items, 5) as again:
            assert again == [9, 1, 7]  # the second's and the third's, given back
    assert redis.Redis.from_url(own_redis.url).keys("claim:*") == []
    with claimed("other", items, 1) as other_kind:
        assert other_kind == [5]


def test_the_claims_of_a_run_that_died_expire(own_redis):
    store = redis.Redis.from_url(own_redis.url)
    held = claimed("t", [1, 2], 1, ttl=1)
    assert held.__enter__() == [1]  # never left: its worker was killed
    with claimed("t", [1, 2], 2) as meanwhile:
        assert meanwhile == [2]
    assert 0 < store.ttl("claim:t:1") <= 1
    time.sleep(1.2)
    with claimed("t", [1, 2], 2) as later:
        assert later == [1, 2]


def test_a_late_run_gives_back_only_its_own_claims(own_redis):
    store = redis.Redis.from_url(own_redis.url)
    late = claimed("t", [1], 1, ttl=1)
    assert late.__enter__() == [1]
    time.sleep(1.2)  # its claim expired; another run took the item
    with claimed("t", [1], 1) as other:
        assert other == [1]
        late.__exit__(None, None, None)  # the late run ends its block
        assert store.exists("claim:t:1")  # still the other run's


def test_without_redis_every_item_is_free_and_nothing_fails(own_redis, caplog):
    own_redis.kill()
    with claimed("t", [1, 2, 3], 2) as first, claimed("t", [1, 2, 3], 2) as second:
        assert first == second == [1, 2]
    assert "Redis is away" in caplog.text
