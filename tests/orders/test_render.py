"""The API renders orders without DRF's serializer on its hot paths: the JSON must stay byte for byte what
the declared serializer (`OrderOutput`, the schema's source) writes, in every state an order can be in."""

import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from rest_framework.renderers import JSONRenderer

from orders.models import Order
from orders.selectors import order_detail_queryset, order_detail_read
from orders.serializers import OrderOutput, order_render
from tests.conftest import order_body
from tests.factories import CouponFactory
from tests.orders.test_returns import ask, delivered
from tests.payments.conftest import deliver, signed


def same_bytes(order: Order) -> bytes:
    """The serializer's bytes; order_render's are the same, read the ORM's way or in one round trip (webhooks)."""
    pk = order.pk
    order = order_detail_queryset().get(pk=pk)
    reference = JSONRenderer().render(OrderOutput(order).data)
    assert JSONRenderer().render(order_render(order)) == reference
    assert JSONRenderer().render(order_render(order_detail_read(pk))) == reference
    return reference


@pytest.mark.django_db
def test_a_placed_order_renders_as_the_serializer_does_and_the_201_is_that_json(place, product):
    response = place()
    order = Order.objects.get(number=response.json()["number"])
    assert response.content == same_bytes(order)


@pytest.mark.django_db
def test_a_held_order_with_a_coupon_a_paid_one_a_delivered_one_with_a_return(api, client, place, product):
    CouponFactory(code="WELCOME10", kind="percent", value=Decimal("10"))
    first = place(order_body(coupon_code="welcome10", note="请放门口")).json()["number"]
    held = None
    for _ in range(4):  # a run of identical orders is held for review
        held = place(order_body(allow_duplicate=True)).json()["number"]
    paid = place(order_body(items=[{"sku": "SKU-001", "quantity": 1, "unit_price": "99.00"}])).json()["number"]
    payment = api.post(f"/api/v1/orders/{paid}/payments/", {"gateway": "stripe"}, format="json").json()
    deliver(client, signed(payment["reference"], "stripe"))
    shipped = delivered(api, client, place, order_body(customer={**order_body()["customer"], "id": "cust-7"}))
    assert ask(api, shipped.number).status_code == 201
    call_command("sandbox_fulfil", paid, "--until", "shipped", stdout=io.StringIO())

    documents = {number: json.loads(same_bytes(Order.objects.get(number=number))) for number in (first, held, paid)}
    documents["delivered"] = json.loads(same_bytes(shipped))
    # The cases cover what the renderer branches on.
    assert documents[first]["coupon_code"] == "WELCOME10" and documents[first]["note"] == "请放门口"
    assert documents[held]["warnings"] == ["held_for_review"]
    assert documents[paid]["payments"][0]["paid_at"] and documents[paid]["shipments"][0]["tracking_number"]
    assert documents["delivered"]["returns"] and documents["delivered"]["shipments"][0]["events"]
    assert documents[first]["reservation_expires_at"].endswith("+08:00")  # shown in the shop's time zone
