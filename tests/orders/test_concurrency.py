"""Real threads, each with its own PostgreSQL connection, racing the same rows."""

import random
import threading
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connections
from django.db.models import Sum
from django.utils import timezone
from rest_framework.test import APIClient

from core.models import TransitionLog
from inventory.models import Reservation, StockItem, StockMovement
from orders.models import Coupon, Order, OrderItem
from orders.services import order_cancel, order_close_expired
from tests.conftest import order_body
from tests.factories import CouponFactory, ProductFactory, stock


def run_threads(n, target):
    """Start n threads at the same instant; collect what each returns (or raises)."""
    barrier = threading.Barrier(n)
    results = [None] * n

    def wrapper(i):
        try:
            barrier.wait()
            results[i] = target(i)
        except Exception as exc:
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=wrapper, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def client_for(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def assert_ledger_matches(item):
    item.refresh_from_db()
    sums = StockMovement.objects.filter(stock_item=item).aggregate(
        on_hand=Sum("on_hand_delta"), reserved=Sum("reserved_delta")
    )
    assert (item.on_hand, item.reserved) == (sums["on_hand"], sums["reserved"])
    active = Reservation.objects.filter(stock_item=item, state="active").aggregate(q=Sum("quantity"))["q"] or 0
    assert item.reserved == active
    assert 0 <= item.reserved <= item.on_hand


@pytest.mark.django_db(transaction=True)
def test_sixteen_threads_never_oversell(token, warehouse):
    hot = ProductFactory(sku="HOT", price="10.00", max_quantity_per_order=3)
    other = ProductFactory(sku="OTHER", price="5.00", max_quantity_per_order=3)
    hot_item = stock(hot, warehouse, 50)
    other_item = stock(other, warehouse, 30)

    def buyer(i):
        rng = random.Random(i)
        client = client_for(token)
        outcomes = []
        for n in range(10):
            items = [{"sku": "HOT", "quantity": rng.randint(1, 3), "unit_price": "10.00"}]
            if rng.random() < 0.5:
                items.append({"sku": "OTHER", "quantity": rng.randint(1, 3), "unit_price": "5.00"})
                rng.shuffle(items)
            body = order_body(items=items, customer={**order_body()["customer"], "id": f"c{i}-{n}"})
            r = client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY=f"t{i}-{n}")
            outcomes.append((r.status_code, r.json()))
        return outcomes

    results = run_threads(16, buyer)
    flat = [o for r in results for o in (r if isinstance(r, list) else [(500, repr(r))])]
    assert Counter(code for code, _ in flat).keys() <= {201, 409}, flat
    assert all(body["code"] == "out_of_stock" for code, body in flat if code == 409)

    sold_hot = OrderItem.objects.filter(sku="HOT").aggregate(q=Sum("quantity"))["q"]
    sold_other = OrderItem.objects.filter(sku="OTHER").aggregate(q=Sum("quantity"))["q"] or 0
    assert sold_hot <= 50 and sold_other <= 30
    assert sold_hot >= 45  # 160 attempts for 50 units: the stock is really sold, not refused wholesale
    assert Order.objects.count() == sum(1 for code, _ in flat if code == 201)
    for item, sold in ((hot_item, sold_hot), (other_item, sold_other)):
        assert_ledger_matches(item)
        assert item.reserved == sold and item.on_hand == (50 if item == hot_item else 30)


@pytest.mark.django_db(transaction=True)
def test_same_idempotency_key_from_ten_threads_makes_one_order(token, product):
    def send(i):
        r = client_for(token).post("/api/v1/orders/", order_body(), format="json", HTTP_IDEMPOTENCY_KEY="one-click")
        return r.status_code, r.json()

    results = run_threads(10, send)
    assert Order.objects.count() == 1
    number = Order.objects.get().number
    for result in results:
        assert not isinstance(result, Exception), result
        code, body = result
        assert (code == 201 and body["number"] == number) or (code == 409 and body["code"] == "idempotency_key_in_use")
    assert StockItem.objects.get(product=product).reserved == 2


@pytest.mark.django_db(transaction=True)
def test_coupon_usage_never_passes_its_limit(token, product):
    CouponFactory(code="FIVE", kind="fixed", value=Decimal("1.00"), max_uses=5)

    def buy(i):
        body = order_body(coupon_code="FIVE", customer={**order_body()["customer"], "id": f"c{i}"})
        r = client_for(token).post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY=f"c{i}")
        return r.status_code, r.json().get("code")

    results = run_threads(12, buy)
    assert Counter(results) == Counter({(201, None): 5, (400, "invalid_coupon"): 7})
    assert Coupon.objects.get().used_count == 5
    assert Order.objects.count() == 5


@pytest.mark.django_db(transaction=True)
def test_expiry_twice_at_once_and_a_cancel_release_stock_exactly_once(token, product):
    client = client_for(token)
    numbers = [
        client.post(
            "/api/v1/orders/",
            order_body(customer={**order_body()["customer"], "id": f"c{i}"}),
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"e{i}",
        ).json()["number"]
        for i in range(6)
    ]
    with time_machine.travel(timezone.now() + timedelta(minutes=16), tick=True):

        def actor(i):
            if i < 2:
                return order_close_expired()
            try:
                return order_cancel(number=numbers[i - 2], actor="api:test-shop").status
            except Exception as exc:
                return getattr(exc, "code", repr(exc))

        results = run_threads(6, actor)
    closed = sum(r for r in results[:2])
    cancelled = sum(1 for r in results[2:] if r == "cancelled")
    assert all(r in ("cancelled", "invalid_transition") for r in results[2:]), results
    assert closed + cancelled == 6
    assert set(Order.objects.values_list("status", flat=True)) <= {"closed", "cancelled"}
    for number in numbers:
        assert StockMovement.objects.filter(reference=number, kind="release").count() == 1
        assert TransitionLog.objects.filter(object_repr=number, field="status").exclude(source="").count() == 1
    assert_ledger_matches(product.stock_items.get())
    assert StockItem.objects.get(product=product).reserved == 0
