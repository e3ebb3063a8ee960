from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from inventory.models import Reservation, StockItem, StockMovement
from orders.models import Coupon, IdempotencyKey, Order
from orders.tasks import close_expired_orders, purge_idempotency_keys
from tests.conftest import order_body
from tests.factories import CouponFactory


@pytest.mark.django_db
def test_expired_orders_are_closed_once_and_fresh_ones_kept(place, product):
    CouponFactory(code="ONE", kind="fixed", value=Decimal("1.00"), max_uses=1)
    old = place(order_body(coupon_code="ONE")).json()["number"]
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        fresh = place(order_body(allow_duplicate=True)).json()["number"]
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert close_expired_orders() == 1
        assert close_expired_orders() == 0
    assert Order.objects.get(number=old).status == "closed"
    assert Order.objects.get(number=fresh).status == "pending"
    assert Reservation.objects.get(holder=old).state == "released"
    assert StockMovement.objects.filter(reference=old, kind="release").count() == 1
    assert StockItem.objects.get(product=product).reserved == 2
    assert Coupon.objects.get().used_count == 0  # the unpaid order gives its coupon use back


@pytest.mark.django_db
def test_idempotency_keys_are_kept_a_day_then_purged(place, product):
    place(key="old")
    with time_machine.travel(timezone.now() + timedelta(hours=23)):
        assert purge_idempotency_keys() == 0
    with time_machine.travel(timezone.now() + timedelta(hours=49)):
        assert purge_idempotency_keys() == 1
    assert not IdempotencyKey.objects.exists()
