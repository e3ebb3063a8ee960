"""Sweeps keep up with a backlog: a run takes batch after batch until nothing is due, runs side by side share
the work through their claims (SKIP LOCKED), and nothing is handled twice."""

import base64
import json
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta

import pytest
import redis
import time_machine
from django.conf import settings as django_settings
from django.core import mail
from django.utils import timezone

from core.models import TransitionLog
from core.sweeps import helpers_of, sweep
from inventory.models import StockItem, StockMovement
from notifications.models import Notification
from notifications.services import notification_send, notifications_deliver_due
from orders.models import Order
from orders.services import order_close_expired
from orders.tasks import close_expired_orders
from payments.models import PaymentEvent
from payments.services import payments_query_batch, stale_query_round
from payments.tasks import query_stale_payments
from tests.conftest import order_body
from tests.factories import ProductFactory, stock
from tests.orders.test_concurrency import assert_ledger_matches, client_for, run_threads
from tests.outages import wait_until


def place_many(token, n, sku="P1", first=0):
    client = client_for(token)
    numbers = []
    for i in range(first, first + n):
        body = order_body(
            items=[{"sku": sku, "quantity": 1, "unit_price": "10.00"}],
            customer={**order_body()["customer"], "id": f"c{i}", "email": f"c{i}@example.com"},
        )
        r = client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY=f"k{i}")
        assert r.status_code == 201, r.json()
        numbers.append(r.json()["number"])
    return numbers


@pytest.fixture
def p1(warehouse):
    product = ProductFactory(sku="P1", price="10.00", max_quantity_per_order=5)
    return stock(product, warehouse, 100)


@pytest.mark.django_db
def test_one_run_closes_the_whole_backlog_batch_after_batch_and_asks_for_help_once(token, p1):
    numbers = place_many(token, 11)
    calls = []
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        closed = sweep(order_close_expired, batch_size=4, budget_seconds=60, enqueue=calls.append)
    assert closed == 11
    assert calls == [1]  # the first batch was full: one helper (SWEEP_WORKERS 2) asked for, once
    assert set(Order.objects.filter(number__in=numbers).values_list("status", flat=True)) == {"closed"}
    assert StockMovement.objects.filter(kind="release").count() == 11
    assert Counter(TransitionLog.objects.filter(target="closed").values_list("object_repr", flat=True)) == Counter(
        {n: 1 for n in numbers}
    )
    assert StockItem.objects.get(pk=p1.pk).reserved == 0
    assert_ledger_matches(p1)
    # every closed order's customer hears of it once
    assert Notification.objects.filter(event="order_closed", channel="email").count() == 11


@pytest.mark.django_db
def test_a_run_that_finds_no_backlog_asks_for_no_help(token, p1):
    place_many(token, 2)
    calls = []
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert sweep(order_close_expired, batch_size=4, budget_seconds=60, enqueue=calls.append) == 2
    assert calls == []


@pytest.mark.django_db
def test_a_run_out_of_time_sends_one_copy_to_go_on_and_a_helper_asks_for_no_help(token, p1):
    place_many(token, 6)
    calls = []
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert sweep(order_close_expired, batch_size=2, budget_seconds=0, helper=True, enqueue=calls.append) == 2
    assert calls == [1]
    assert Order.objects.filter(status="pending").count() == 4


@pytest.mark.django_db(transaction=True)
def test_three_sweeps_side_by_side_share_the_backlog_and_close_each_order_once(token, warehouse):
    p1 = stock(ProductFactory(sku="P1", price="10.00", max_quantity_per_order=5), warehouse, 100)
    numbers = place_many(token, 24)
    with time_machine.travel(timezone.now() + timedelta(minutes=16), tick=True):
        results = run_threads(3, lambda i: sweep(order_close_expired, batch_size=3, budget_seconds=60, enqueue=None))
    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == 24
    for number in numbers:
        assert StockMovement.objects.filter(reference=number, kind="release").count() == 1
    assert set(Order.objects.values_list("status", flat=True)) == {"closed"}
    assert_ledger_matches(p1)


@pytest.mark.django_db(transaction=True)
def test_notification_sweeps_side_by_side_send_each_message_once(token, warehouse):
    stock(ProductFactory(sku="P1", price="10.00", max_quantity_per_order=5), warehouse, 100)
    place_many(token, 12)
    Notification.objects.all().delete()  # the placement messages; queue a backlog of our own
    for order in Order.objects.all():
        notification_send(event="order_closed", order=order, due_at=timezone.now())
    mail.outbox.clear()
    results = run_threads(3, lambda i: sweep(notifications_deliver_due, batch_size=2, budget_seconds=60, enqueue=None))
    assert sum(results) == Notification.objects.count() == 12, results
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}
    assert Counter(m.to[0] for m in mail.outbox) == Counter({f"c{i}@example.com": 1 for i in range(12)})


@pytest.mark.django_db(transaction=True)
def test_stale_payment_sweeps_of_one_round_ask_about_each_payment_once(token, warehouse, api):
    stock(ProductFactory(sku="P1", price="10.00", max_quantity_per_order=5), warehouse, 100)
    for number in place_many(token, 9):
        assert (
            api.post(f"/api/v1/orders/{number}/payments/", {"gateway": "wechatpay"}, format="json").status_code == 201
        )
    round_id = uuid.uuid4()
    with time_machine.travel(timezone.now() + timedelta(minutes=11), tick=True):
        results = run_threads(
            3,
            lambda i: sweep(
                lambda size: payments_query_batch(size, round_id=round_id)[0],
                batch_size=2,
                budget_seconds=60,
                enqueue=None,
            ),
        )
        assert sum(results) == 9, results
        asked = Counter(PaymentEvent.objects.filter(kind="query").values_list("reference", flat=True))
        assert len(asked) == 9 and set(asked.values()) == {1}
        # the next round asks again (the sandbox still says "not paid")
        assert payments_query_batch(50, round_id=uuid.uuid4()) == (9, 0)


@pytest.mark.django_db
def test_a_beat_tick_while_a_round_still_runs_joins_it_and_asks_no_payment_twice(token, warehouse, api):
    stock(ProductFactory(sku="P1", price="10.00", max_quantity_per_order=5), warehouse, 100)
    for number in place_many(token, 5):
        assert (
            api.post(f"/api/v1/orders/{number}/payments/", {"gateway": "wechatpay"}, format="json").status_code == 201
        )
    with time_machine.travel(timezone.now() + timedelta(minutes=11), tick=True):
        round_id = stale_query_round()
        assert payments_query_batch(2, round_id=round_id) == (2, 0)  # a round under way: its batch was full
        assert query_stale_payments.apply().get() == 3  # the beat's next tick: only what the round has not asked
        asked = Counter(PaymentEvent.objects.filter(kind="query").values_list("reference", flat=True))
        assert len(asked) == 5 and set(asked.values()) == {1}
        # that batch came back short: the round is over, and the tick after asks about each payment again
        assert stale_query_round() != round_id
        assert query_stale_payments.apply().get() == 5


@pytest.mark.django_db
def test_without_the_cache_a_beat_tick_is_a_round_of_its_own(token, warehouse, api, settings):
    stock(ProductFactory(sku="P1", price="10.00", max_quantity_per_order=5), warehouse, 100)
    for number in place_many(token, 2):
        assert (
            api.post(f"/api/v1/orders/{number}/payments/", {"gateway": "wechatpay"}, format="json").status_code == 201
        )
    backend = "django.core.cache.backends.redis.RedisCache"
    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": "redis://127.0.0.1:1/0"}}  # nothing listens
    with time_machine.travel(timezone.now() + timedelta(minutes=11), tick=True):
        assert query_stale_payments.apply().get() == 2
        assert query_stale_payments.apply().get() == 2  # asked again: no round to join


@pytest.mark.django_db
def test_a_backlog_sends_helpers_to_the_sweeps_queue():
    broker = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    broker.delete("sweeps")
    helpers_of(close_expired_orders)(2)
    messages = [json.loads(m) for m in broker.lrange("sweeps", 0, -1)]
    broker.delete("sweeps")
    assert [m["headers"]["task"] for m in messages] == ["orders.tasks.close_expired_orders"] * 2
    assert all(json.loads(base64.b64decode(m["body"]))[1] == {"helper": True} for m in messages)


@pytest.mark.django_db(transaction=True)
def test_placements_wake_the_notification_sweep_once_per_delay_not_once_per_order(token, p1, settings):
    from config.celery_app import _wake_timers

    name = "notifications.tasks.sweep_notifications"
    settings.WAKE_DELAY_SECONDS = 3  # the placements below fall inside one delay
    for pending in [t for t in threading.enumerate() if isinstance(t, threading.Timer)]:
        pending.cancel()  # earlier tests' wakes, waiting or sending
        pending.join()
    _wake_timers.clear()
    broker = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    broker.delete("notifications")
    started = time.monotonic()
    place_many(token, 1)
    wait_until(lambda: broker.llen("notifications") == 1, timeout=2, interval=0.02)
    assert time.monotonic() - started < 3  # nothing sent for a delay: woken at once, from the timer's thread

    place_many(token, 4, first=1)
    assert broker.llen("notifications") == 1  # sent when the delay is over, after every commit inside it
    _wake_timers[name].join(timeout=10)
    messages = [json.loads(m) for m in broker.lrange("notifications", 0, -1)]
    assert [m["headers"]["task"] for m in messages] == [name, name]
    assert not any(m["headers"]["eta"] for m in messages)  # no countdown: a worker holding ETAs dies with the broker
    assert Notification.objects.filter(event="order_placed", status="queued").count() == 5

    place_many(token, 1, first=5)  # within a delay of the last message: sent when that delay is over
    assert broker.llen("notifications") == 2
    _wake_timers[name].join(timeout=10)
    broker_len = broker.llen("notifications")
    broker.delete("notifications")
    assert broker_len == 3
