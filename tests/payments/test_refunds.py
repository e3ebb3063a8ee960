"""Refunds are rows written under the order lock before the gateway is asked: a double submit refunds once, and
a refund stops the order's fulfillment."""

from decimal import Decimal

import pytest
from django.db import connections
from django.urls import reverse

from core.errors import InvalidTransition
from core.models import TransitionLog
from fulfillment.models import Shipment
from fulfillment.services import shipment_create_for_order, shipment_pack, shipment_start_picking
from inventory.models import StockItem, StockMovement
from orders.models import Order
from payments.models import Payment, Refund, new_refund_number
from payments.services import GatewayUnavailable, PaymentValidationError, payment_refund
from tests.factories import UserFactory
from tests.orders.test_concurrency import assert_ledger_matches, run_threads
from tests.payments.conftest import deliver, signed
from tests.payments.test_live_gateways import query_later


def paid_stripe_payment(api, client, order_number) -> Payment:
    response = api.post(f"/api/v1/orders/{order_number}/payments/", {"gateway": "stripe"}, format="json")
    reference = response.json()["reference"]
    assert deliver(client, signed(reference, "stripe")).status_code == 200
    return Payment.objects.get(reference=reference)


def live_paid_payment(api, order_number, platforms) -> Payment:
    """A live Stripe payment the emulated Stripe holds as paid, learnt by the stale-payment query."""
    response = api.post(f"/api/v1/orders/{order_number}/payments/", {"gateway": "stripe"}, format="json")
    payment = Payment.objects.get(reference=response.json()["reference"])
    platforms.trades[("stripe", payment.reference)]["state"] = "paid"
    assert query_later(payment) == 1
    return Payment.objects.get(pk=payment.pk)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_submits_of_one_refund_call_the_gateway_once(api, order, platforms):
    payment = live_paid_payment(api, order["number"], platforms)
    finance = UserFactory(username="fin")  # (transactional tests flush the groups the migrations made)
    number = new_refund_number()

    def submit(i):
        try:
            return payment_refund(payment=payment, amount=Decimal("50.00"), user=finance, number=number).number
        finally:
            connections.close_all()

    results = run_threads(2, submit)
    assert results == [number, number], results
    assert len([r for r in platforms.refunds if r["gateway"] == "stripe"]) == 1  # one call reached Stripe
    assert Refund.objects.count() == 1
    refund = Refund.objects.get()
    assert (refund.status, refund.amount) == ("succeeded", Decimal("50.00"))
    assert Payment.objects.get(pk=payment.pk).refunded_amount == Decimal("50.00")


@pytest.mark.django_db(transaction=True)
def test_two_full_refunds_with_different_numbers_refund_once(api, order, platforms):
    payment = live_paid_payment(api, order["number"], platforms)
    finance = UserFactory(username="fin")  # (transactional tests flush the groups the migrations made)

    def submit(i):
        try:
            return payment_refund(payment=payment, amount=payment.amount, user=finance, number=new_refund_number())
        except PaymentValidationError as exc:
            return exc.code
        finally:
            connections.close_all()

    results = run_threads(2, submit)
    assert sorted(map(type, results), key=str) == sorted([Refund, str], key=str), results
    assert len(platforms.refunds) == 1 and Refund.objects.count() == 1
    assert Order.objects.get(number=order["number"]).status == "refunded"


@pytest.mark.django_db
def test_a_resubmitted_refund_form_sends_nothing(api, client, order):
    payment = paid_stripe_payment(api, client, order["number"])
    client.force_login(UserFactory(username="fin", group="Finance"))
    url = reverse("admin:payments_payment_refund", args=[payment.pk])
    form = client.get(url).context["form"]
    post = {"amount": "40.00", "reason": "damaged", "number": form["number"].initial}
    assert client.post(url, post).status_code == 302
    assert client.post(url, post).status_code == 302  # the browser sent it again
    assert Refund.objects.count() == 1
    assert Payment.objects.get(pk=payment.pk).refunded_amount == Decimal("40.00")


@pytest.mark.django_db
def test_a_refused_refund_frees_the_amount(api, order, platforms):
    payment = live_paid_payment(api, order["number"], platforms)
    platforms.stripe_key = "sk_test_rotated"  # Stripe refuses our key
    with pytest.raises(GatewayUnavailable):
        payment_refund(payment=payment, amount=payment.amount, user=UserFactory(), number=new_refund_number())
    assert Refund.objects.get().status == "failed"
    platforms.stripe_key = "sk_test_shop"
    refund = payment_refund(payment=payment, amount=payment.amount, user=UserFactory(), number=new_refund_number())
    assert refund.status == "succeeded"


@pytest.mark.django_db
def test_refund_of_an_order_being_picked_cancels_its_shipment_and_restores_stock(api, client, order):
    payment = paid_stripe_payment(api, client, order["number"])
    warehouse_user = UserFactory(username="wh", group="Warehouse")
    [shipment] = shipment_create_for_order(order_number=order["number"], actor="task:test")
    shipment_start_picking(shipment_id=shipment.pk, actor=warehouse_user, check_permission=True)
    assert StockItem.objects.values_list("on_hand", "reserved").get() == (98, 0)

    payment_refund(payment=payment, amount=payment.amount, user=UserFactory(username="fin", group="Finance"))

    shipment.refresh_from_db()
    order_row = Order.objects.get(number=order["number"])
    assert (order_row.status, shipment.status) == ("refunded", "cancelled")
    assert StockItem.objects.values_list("on_hand", "reserved").get() == (100, 0)
    assert StockMovement.objects.get(kind="return").on_hand_delta == 2
    assert_ledger_matches(StockItem.objects.get())
    log = TransitionLog.objects.get(object_repr=str(shipment), target="cancelled")
    assert log.actor == "fin"
    with pytest.raises(InvalidTransition):
        shipment_pack(shipment_id=shipment.pk, actor=warehouse_user, check_permission=True)
    client.force_login(warehouse_user)
    client.post(reverse("admin:fulfillment_shipment_changelist"), {"action": "pack", "_selected_action": [shipment.pk]})
    assert Shipment.objects.get(pk=shipment.pk).status == "cancelled"


@pytest.mark.django_db
def test_a_shipped_order_refund_is_recorded_without_returning_stock(api, client, order):
    from fulfillment.services import shipment_ship

    payment = paid_stripe_payment(api, client, order["number"])
    [shipment] = shipment_create_for_order(order_number=order["number"], actor="task:test")
    for step in (shipment_start_picking, shipment_pack):
        step(shipment_id=shipment.pk, actor="task:test")
    shipment_ship(shipment_id=shipment.pk, carrier="sandbox", tracking_number="SB123", actor="task:test")
    payment_refund(payment=payment, amount=payment.amount, user=UserFactory(username="fin", group="Finance"))
    assert Order.objects.get(number=order["number"]).status == "shipped"
    assert Payment.objects.get(pk=payment.pk).status == "refunded"
    assert StockItem.objects.values_list("on_hand", "reserved").get() == (98, 0)
    assert not StockMovement.objects.filter(kind="return").exists()


@pytest.mark.django_db
def test_mark_paid_is_one_transaction(client, order):
    """Refused part-way (a reference already used), nothing of it is left: no payment, no event, no log."""
    from payments.services import payment_mark_paid_manually

    finance = UserFactory(username="fin", group="Finance")
    o = Order.objects.get(number=order["number"])
    payment_mark_paid_manually(order_number=o.number, bank_reference="B-1", amount=o.total, user=finance)
    assert Order.objects.get(pk=o.pk).status == "confirmed"
    before = (Payment.objects.count(), TransitionLog.objects.count())
    with pytest.raises(InvalidTransition):
        payment_mark_paid_manually(order_number=o.number, bank_reference="B-2", amount=o.total, user=finance)
    assert (Payment.objects.count(), TransitionLog.objects.count()) == before


@pytest.mark.django_db
def test_a_refund_the_gateway_could_not_be_asked_about_is_retried_under_its_number(api, order, platforms, settings):
    payment = live_paid_payment(api, order["number"], platforms)
    real_url = platforms.url
    settings.STRIPE_API_URL = "http://127.0.0.1:9/stripe"  # Stripe unreachable
    number = new_refund_number()
    with pytest.raises(GatewayUnavailable):
        payment_refund(payment=payment, amount=Decimal("30.00"), user=UserFactory(), number=number)
    pending = Refund.objects.get(number=number)
    assert (pending.status, bool(pending.error)) == ("pending", True)  # Stripe may have refunded: not freed
    with pytest.raises(PaymentValidationError):  # the pending amount counts as spent
        payment_refund(payment=payment, amount=payment.amount, user=UserFactory(), number=new_refund_number())
    settings.STRIPE_API_URL = f"{real_url}/stripe"
    again = payment_refund(payment=payment, amount=Decimal("30.00"), user=UserFactory(), number=number)
    assert again.status == "succeeded" and Refund.objects.count() == 1
    assert len(platforms.refunds) == 1
    assert Payment.objects.get(pk=payment.pk).refunded_amount == Decimal("30.00")
