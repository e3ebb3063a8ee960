"""Back-orders get arriving stock first: oldest back-order first, in the receipt's transaction, whatever new
orders are being placed at the same time; the customer is told once."""

from datetime import timedelta

import pytest
import time_machine
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from core.models import TransitionLog
from fulfillment.tasks import start_fulfillment
from inventory.models import StockItem, StockMovement
from inventory.services import stock_adjust, stock_receive, stock_transfer
from notifications.models import Notification
from orders.models import Order
from orders.services import order_close_expired
from tests.conftest import order_body
from tests.factories import ProductFactory, UserFactory, WarehouseFactory, stock
from tests.orders.test_concurrency import run_threads
from tests.payments.conftest import deliver, signed


def backorders(api, client, place, quantities=(2,)):
    """Orders paid (in this order) after their reservations ran out, the stock sold to others meanwhile."""
    requests = []
    for i, quantity in enumerate(quantities):
        body = order_body(items=[{"sku": "SKU-001", "quantity": quantity, "unit_price": "99.00"}])
        body["customer"] = {**body["customer"], "id": f"late-{i}"}
        number = place(body).json()["number"]
        payment = api.post(f"/api/v1/orders/{number}/payments/", {"gateway": "stripe"}, format="json").json()
        requests.append((number, signed(payment["reference"], "stripe")))
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        order_close_expired()
    item = StockItem.objects.get(product__sku="SKU-001")
    stock_adjust(stock_item=item, delta=item.reserved - item.on_hand, actor="t", reason="sold out meanwhile")
    orders = []
    for number, request in requests:
        deliver(client, request)
        order = Order.objects.get(number=number)
        assert order.status == "pending_restock" and order.backordered_at
        orders.append(order)
    return orders


def ledger_matches(item: StockItem) -> bool:
    moved = StockMovement.objects.filter(stock_item=item).aggregate(on=Sum("on_hand_delta"), res=Sum("reserved_delta"))
    item.refresh_from_db()
    return (moved["on"], moved["res"] or 0) == (item.on_hand, item.reserved)


@pytest.mark.django_db
def test_received_stock_serves_the_back_order_and_the_customer_hears_once(api, client, place, product):
    (order,) = backorders(api, client, place)
    item = StockItem.objects.get(product=product)
    user = UserFactory(username="wh", group="Warehouse")
    client.force_login(user)
    client.post(reverse("admin:inventory_stockitem_receive", args=[item.pk]), {"quantity": 5, "reference": "PO-77"})
    order.refresh_from_db()
    assert order.status == "confirmed"
    log = TransitionLog.objects.get(object_repr=order.number, transition="allocate_restock")
    assert (log.actor, "PO-77" in log.reason) == ("wh", True)
    item.refresh_from_db()
    assert item.available == 3  # 5 received, 2 went to the back-order
    start_fulfillment(order.number)
    assert Order.objects.get(pk=order.pk).status == "processing"
    stock_receive(stock_item=item, quantity=1, actor="t")  # more stock later: nothing to serve twice
    told = Notification.objects.filter(order=order, event="backorder_allocated")
    assert told.count() == 1 and told.get().channel == "email"
    assert ledger_matches(item)


@pytest.mark.django_db
def test_the_oldest_back_order_is_served_first_and_a_short_one_keeps_its_place(api, client, place, product):
    first, second = backorders(api, client, place, quantities=(3, 1))
    item = StockItem.objects.get(product=product)
    stock_receive(stock_item=item, quantity=2, actor="t")  # not enough for the oldest (3): the younger gets 1
    assert Order.objects.get(pk=first.pk).status == "pending_restock"
    assert Order.objects.get(pk=second.pk).status == "confirmed"
    stock_receive(stock_item=item, quantity=2, actor="t")  # now 3 available: the oldest is served
    assert Order.objects.get(pk=first.pk).status == "confirmed"
    assert ledger_matches(item)


@pytest.mark.django_db
def test_stock_moved_in_from_another_warehouse_serves_back_orders_too(api, client, place, product):
    (order,) = backorders(api, client, place)
    other = stock(product, WarehouseFactory(code="GZ", priority=2), 10)
    stock_transfer(
        stock_item=other,
        to_warehouse=StockItem.objects.get(pk=product.stock_items.first().pk).warehouse,
        quantity=4,
        actor="t",
        reason="rebalance",
    )
    assert Order.objects.get(pk=order.pk).status == "confirmed"
    assert StockMovement.objects.filter(kind="transfer").count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_receipt_racing_sixteen_new_orders_serves_the_back_order_and_oversells_nothing(api, client, place, product):
    (order,) = backorders(api, client, place)
    item = StockItem.objects.get(product=product)
    on_hand_before = item.on_hand

    def work(i):
        if i == 0:
            return stock_receive(stock_item=item, quantity=10, actor="receiving", reference="PO-RACE")
        body = order_body(allow_duplicate=True, items=[{"sku": "SKU-001", "quantity": 1, "unit_price": "99.00"}])
        body["customer"] = {**body["customer"], "id": f"new-{i}"}
        return place(body, key=f"race-{i}").status_code

    results = run_threads(17, work)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert Order.objects.get(pk=order.pk).status == "confirmed"  # the back-order got its 2 units
    placed = sum(1 for r in results[1:] if r == 201)
    item.refresh_from_db()
    assert placed <= 8  # 10 arrived, 2 went to the back-order first
    assert item.on_hand - item.reserved >= 0 and item.reserved == placed
    assert item.on_hand == on_hand_before + 10 - 2
    assert ledger_matches(item)


@pytest.mark.django_db
def test_the_warehouse_receives_a_whole_delivery_into_a_warehouse(client, product):
    other = ProductFactory(sku="SKU-002", price="10.00")
    item = StockItem.objects.get(product=product)
    client.force_login(UserFactory(username="wh", group="Warehouse"))
    url = reverse("admin:inventory_warehouse_delivery", args=[item.warehouse_id])
    refused = client.post(url, {"reference": "DN-9", "lines": "SKU-001 5\nNOPE 2"})
    assert "Unknown SKU NOPE" in refused.content.decode() and not StockMovement.objects.filter(reference="DN-9")
    client.post(url, {"reference": "DN-9", "lines": "SKU-001 5\nSKU-002 7\n\nSKU-001 1"})
    item.refresh_from_db()
    assert StockMovement.objects.filter(reference="DN-9", kind="receipt").count() == 2
    assert StockItem.objects.get(product=other, warehouse=item.warehouse).on_hand == 7
    assert ledger_matches(item)
