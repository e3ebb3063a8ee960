"""Returns: the storefront asks within the window for what was delivered, staff approve or reject, the parcel
is received (restocked through the ledger or written off) and refunded once through the payment's gateway."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from core.errors import InvalidTransition
from core.fsm import transition_apply
from core.models import TransitionLog
from inventory.models import StockItem, StockMovement
from notifications.models import Notification
from orders.models import Coupon, Order, Return, ReturnStatus
from orders.services import order_complete_delivered
from payments.models import PaymentEvent, Refund
from tests.conftest import order_body, storefront_client, storefront_key
from tests.factories import ProductFactory, UserFactory, stock
from tests.payments.conftest import deliver, signed

LEGAL = {
    ("requested", "approved"): "approve",
    ("requested", "rejected"): "reject",
    ("approved", "received"): "receive",
    ("received", "refunded"): "refund",
    ("requested", "cancelled"): "cancel",
    ("approved", "cancelled"): "cancel",
}


def delivered(api, client, place, body=None):
    number = place(body or order_body()).json()["number"]
    payment = api.post(f"/api/v1/orders/{number}/payments/", {"gateway": "stripe"}, format="json").json()
    deliver(client, signed(payment["reference"], "stripe"))
    call_command("sandbox_fulfil", number, "--until", "delivered", stdout=io.StringIO())
    return Order.objects.get(number=number)


def ask(api, number, items=(("SKU-001", 1),), reason="damaged"):
    body = {"items": [{"sku": s, "quantity": q} for s, q in items], "reason": reason, "note": "box crushed"}
    return api.post(f"/api/v1/orders/{number}/returns/", body, format="json")


def test_the_model_declares_exactly_the_return_lifecycle():
    declared = {(t.source, t.target): t.name for t in Return().get_all_status_transitions()}
    assert declared == LEGAL


@pytest.mark.django_db
@pytest.mark.parametrize("source", [s.value for s in ReturnStatus])
@pytest.mark.parametrize("target", [s.value for s in ReturnStatus])
def test_every_legal_step_is_logged_and_every_other_refused(source, target, api, client, place, product):
    if source == target:
        return
    order = delivered(api, client, place)
    ret = Return.objects.get(number=ask(api, order.number).json()["number"])
    Return.objects.filter(pk=ret.pk).update(status=source)
    ret.refresh_from_db()
    name = LEGAL.get((source, target))
    if name is None:  # no transition leads there, and every transition not offered now is refused
        assert target not in {t.target for t in ret.get_available_status_transitions()}
        offered = {t.name for t in ret.get_available_status_transitions()}
        for refused in set(LEGAL.values()) - offered:
            with pytest.raises(InvalidTransition):
                transition_apply(ret, refused, actor="task:test")
        assert Return.objects.get(pk=ret.pk).status == source
        return
    transition_apply(ret, name, actor="task:test", reason="step")
    ret.save()
    log = TransitionLog.objects.get(object_repr=ret.number, source=source, target=target)
    assert (log.transition, log.actor) == (name, "task:test")


@pytest.mark.django_db
def test_a_return_needs_a_delivered_order_inside_the_window_and_items_it_had(api, client, place, product):
    pending = place(order_body(customer={**order_body()["customer"], "id": "p"})).json()["number"]
    assert ask(api, pending).json()["code"] == "invalid_transition"
    order = delivered(api, client, place)
    assert ask(api, order.number, items=[("SKU-001", 3)]).status_code == 400  # 2 were delivered
    assert ask(api, order.number, items=[("NOPE", 1)]).json()["code"] == "validation_error"
    assert ask(api, order.number, reason="bored").status_code == 400
    first = ask(api, order.number)
    assert first.status_code == 201 and first.json()["status"] == "requested"
    assert ask(api, order.number, items=[("SKU-001", 2)]).status_code == 400  # only 1 left to return
    other = storefront_client(storefront_key(UserFactory(username="api:other-shop")))
    assert ask(other, order.number).status_code == 404  # another storefront's order does not exist for it
    assert api.get(f"/api/v1/orders/{order.number}/").json()["returns"][0]["number"] == first.json()["number"]
    with time_machine.travel(order.delivered_at + timedelta(days=8)):
        late = ask(api, order.number)
    assert (late.status_code, late.json()["code"]) == (409, "return_window_closed")
    assert Return.objects.count() == 1


@pytest.mark.django_db
def test_the_refund_amount_is_the_lines_paid_share_to_the_cent(api, client, place, warehouse):
    cheap, dear = ProductFactory(sku="A", price="33.33"), ProductFactory(sku="B", price="100.00")
    stock(cheap, warehouse, 10)
    stock(dear, warehouse, 10)
    Coupon.objects.create(code="TENOFF", kind="fixed", value=Decimal("10.00"))
    body = order_body(
        items=[{"sku": "A", "quantity": 3, "unit_price": "33.33"}, {"sku": "B", "quantity": 1, "unit_price": "100.00"}],
        coupon_code="TENOFF",
    )
    order = delivered(api, client, place, body)
    assert (order.subtotal, order.discount) == (Decimal("199.99"), Decimal("10.00"))
    response = ask(api, order.number, items=[("A", 1), ("B", 1)]).json()
    lines = {line["sku"]: line["refund_amount"] for line in response["items"]}
    # 33.33 - 10.00 * 33.33 / 199.99 = 31.6634… → 31.66; 100.00 - 10.00 * 100 / 199.99 = 95.0002… → 95.00
    assert lines == {"A": "31.66", "B": "95.00"} and response["refund_amount"] == "126.66"


@pytest.mark.django_db
def test_approve_receive_restock_and_refund_once_then_the_order_is_refunded(api, client, place, product):
    order = delivered(api, client, place)
    number = ask(api, order.number, items=[("SKU-001", 2)]).json()["number"]
    ret = Return.objects.get(number=number)
    order_complete_delivered(now=timezone.now() + timedelta(days=30))
    assert Order.objects.get(pk=order.pk).status == "delivered"  # not completed while the return is open
    cs, finance = UserFactory(username="cs", group="Customer service"), UserFactory(username="fin", group="Finance")
    client.force_login(cs)
    client.post(reverse("admin:orders_return_decide", args=[ret.pk, "approve"]), {"reason": ""})
    item = StockItem.objects.get(product=product)
    before = item.on_hand
    line = ret.lines.get()
    client.post(
        reverse("admin:orders_return_receive", args=[ret.pk]),
        {f"line_{line.pk}": str(item.warehouse_id), f"why_{line.pk}": ""},
    )
    ret.refresh_from_db()
    assert ret.status == "received"
    item.refresh_from_db()
    assert item.on_hand == before + 2
    assert StockMovement.objects.filter(kind="return", reference=ret.number, on_hand_delta=2).count() == 1
    client.force_login(finance)
    url = reverse("admin:payments_payment_return_refund", args=[ret.number])
    client.post(url, {})
    client.post(url, {})  # a double submit
    ret.refresh_from_db()
    assert ret.status == "refunded"
    assert Refund.objects.filter(number=f"RF{ret.number}").count() == 1
    assert PaymentEvent.objects.filter(kind="refund", direction="out").count() == 1  # one gateway call
    assert Order.objects.get(pk=order.pk).status == "refunded"  # the whole order came back
    told = sorted(Notification.objects.filter(subject=ret.number, channel="email").values_list("event", flat=True))
    assert told == ["return_approved", "return_refunded", "return_requested"]
    steps = TransitionLog.objects.filter(object_repr=ret.number).values_list("target", "actor")
    assert list(steps) == [("requested", "api:test-shop"), ("approved", "cs"), ("received", "cs"), ("refunded", "fin")]


@pytest.mark.django_db
def test_a_rejection_needs_a_reason_and_the_customer_may_withdraw_an_approved_return(api, client, place, product):
    order = delivered(api, client, place)
    ret = Return.objects.get(number=ask(api, order.number).json()["number"])
    client.force_login(UserFactory(username="cs", group="Customer service"))
    url = reverse("admin:orders_return_decide", args=[ret.pk, "reject"])
    client.post(url, {"reason": ""})
    assert Return.objects.get(pk=ret.pk).status == "requested"
    client.post(url, {"reason": "Used item"})
    assert Return.objects.get(pk=ret.pk).status == "rejected"
    second = ask(api, order.number).json()["number"]  # a rejected return frees its quantity again
    cancel = api.post(f"/api/v1/orders/{order.number}/returns/{second}/cancel/")
    assert (cancel.status_code, cancel.json()["status"]) == (200, "cancelled")
    assert api.post(f"/api/v1/orders/{order.number}/returns/{second}/cancel/").status_code == 409
