"""Payment flows: races, late payments, finance's reconciliation, refunds, stale queries, replays."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db.models import Sum
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.models import TransitionLog
from inventory.models import StockItem, StockMovement
from orders.models import Order
from orders.services import order_close_expired
from payments.models import Payment, PaymentEvent, Refund, new_refund_number
from payments.services import payment_query_stale
from tests.factories import UserFactory
from tests.orders.test_concurrency import assert_ledger_matches, run_threads
from tests.payments.conftest import deliver, signed


def stock():
    return StockItem.objects.values_list("on_hand", "reserved").get()


@pytest.mark.django_db(transaction=True)
def test_eight_threads_sending_the_same_success_move_the_order_once(order, start):
    payment = start(order["number"], "wechatpay")
    request = signed(payment["reference"], "wechatpay")
    results = run_threads(8, lambda i: deliver(Client(), request).status_code)
    assert results == [204] * 8
    assert Order.objects.get(number=order["number"]).status == "confirmed"
    assert StockMovement.objects.filter(kind="commit").count() == 1
    assert TransitionLog.objects.filter(object_repr=order["number"], target="confirmed").count() == 1
    assert stock() == (98, 0)


@pytest.mark.django_db
def test_definitive_failure_cancels_then_a_late_success_reserves_again(client, order, start):
    payment = start(order["number"], "alipay")
    deliver(client, signed(payment["reference"], "alipay", outcome="failure"))
    o = Order.objects.get(number=order["number"])
    assert (o.status, o.payment_status) == ("cancelled", "failed")
    assert stock() == (100, 0)
    deliver(client, signed(payment["reference"], "alipay"))  # the same attempt succeeds after all
    o.refresh_from_db()
    assert (o.status, o.payment_status) == ("confirmed", "paid")
    assert stock() == (98, 0)
    assert "closed" in Payment.objects.get().attention
    assert_ledger_matches(StockItem.objects.get())


@pytest.mark.django_db
def test_a_failure_does_not_cancel_while_another_attempt_is_open(client, order, start):
    first = start(order["number"], "alipay")
    start(order["number"], "stripe")
    deliver(client, signed(first["reference"], "alipay", outcome="failure"))
    assert Order.objects.get(number=order["number"]).status == "pending"
    assert stock() == (100, 2)


@pytest.mark.django_db
def test_stripe_card_decline_is_not_definitive(client, order, start):
    payment = start(order["number"], "stripe")
    deliver(client, signed(payment["reference"], "stripe", outcome="failure"))
    o = Order.objects.get(number=order["number"])
    assert (o.status, o.payment_status) == ("pending", "failed")
    assert stock() == (100, 2)


@pytest.mark.django_db
def test_success_after_expiry_with_the_stock_gone_waits_for_restock(client, place, order, start):
    payment = start(order["number"], "paypal")
    request = signed(payment["reference"], "paypal")
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert order_close_expired() == 1
    StockItem.objects.update(on_hand=1)  # sold out meanwhile (set directly for the test)
    response = deliver(client, request)
    assert response.status_code == 200
    o = Order.objects.get(number=order["number"])
    assert (o.status, o.payment_status) == ("pending_restock", "paid")
    assert Payment.objects.get().status == "paid"
    assert "restock" in Payment.objects.get().attention


@pytest.mark.django_db(transaction=True)
def test_callback_racing_the_expiry_task_stays_consistent(order, start):
    payment = start(order["number"], "stripe")
    with time_machine.travel(timezone.now() + timedelta(minutes=16), tick=True):
        request = signed(payment["reference"], "stripe")
        results = run_threads(2, lambda i: order_close_expired() if i == 0 else deliver(Client(), request).status_code)
    assert results[1] == 200
    o = Order.objects.get(number=order["number"])
    assert (o.status, o.payment_status) == ("confirmed", "paid")  # directly, or closed and then paid late
    assert stock() == (98, 0)
    assert_ledger_matches(StockItem.objects.get())


# --- finance in the admin -----------------------------------------------------------------------------------
def staff(client, group):
    user = UserFactory(username=f"u-{group}", group=group)
    client.force_login(user)
    return user


@pytest.mark.django_db
def test_finance_marks_paid_by_hand_and_is_logged(client, order):
    o = Order.objects.get(number=order["number"])
    user = staff(client, "Finance")
    url = reverse("admin:orders_order_mark_paid", args=[o.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"bank_reference": "ICBC-2026-0001", "amount": "1.00"})
    assert "give the reason" in response.content.decode()  # a different amount needs a reason
    response = client.post(url, {"bank_reference": "ICBC-2026-0001", "amount": o.total, "note": "statement 11/22"})
    assert response.status_code == 302
    o.refresh_from_db()
    assert (o.status, o.payment_status) == ("confirmed", "paid")
    assert stock() == (98, 0)
    payment = Payment.objects.get()
    assert (payment.gateway, payment.gateway_txn_id, payment.status) == ("manual", "ICBC-2026-0001", "paid")
    assert TransitionLog.objects.get(object_repr=o.number, target="confirmed").user == user
    assert PaymentEvent.objects.get(kind="manual").user == user
    # not payable any more: refused, nothing changes
    response = client.post(url, {"bank_reference": "ICBC-2026-0002", "amount": o.total}, follow=True)
    assert "Not marked paid" in response.content.decode()
    assert Payment.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("group", ["Customer service", "Warehouse"])
def test_other_staff_get_403_on_mark_paid(client, order, group):
    o = Order.objects.get(number=order["number"])
    staff(client, group)
    url = reverse("admin:orders_order_mark_paid", args=[o.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"bank_reference": "X", "amount": o.total}).status_code == 403
    assert Order.objects.get(number=order["number"]).status == "pending"
    page = client.get(reverse("admin:orders_order_change", args=[o.pk])).content.decode()
    assert url not in page


@pytest.mark.django_db
def test_full_refund_returns_unshipped_stock_and_refunds_the_order(client, order, start):
    payment = start(order["number"], "stripe")
    deliver(client, signed(payment["reference"], "stripe"))
    staff(client, "Finance")
    p = Payment.objects.get()
    url = reverse("admin:payments_payment_refund", args=[p.pk])
    assert (
        client.post(
            url, {"amount": "198.00", "reason": "customer changed mind", "number": new_refund_number()}
        ).status_code
        == 302
    )
    p.refresh_from_db()
    o = Order.objects.get(number=order["number"])
    assert (p.status, p.refunded_amount) == ("refunded", Decimal("198.00"))
    assert (o.status, o.payment_status) == ("refunded", "refunded")
    assert stock() == (100, 0)
    assert StockMovement.objects.get(kind="return").on_hand_delta == 2
    assert_ledger_matches(StockItem.objects.get())


@pytest.mark.django_db
def test_partial_refunds_then_the_gateway_callback_is_applied_once(client, order, start):
    payment = start(order["number"], "stripe")
    deliver(client, signed(payment["reference"], "stripe"))
    staff(client, "Finance")
    p = Payment.objects.get()
    client.post(
        reverse("admin:payments_payment_refund", args=[p.pk]),
        {"amount": "50.00", "reason": "damaged box", "number": new_refund_number()},
    )
    p.refresh_from_db()
    assert (p.status, p.refunded_amount) == ("paid", Decimal("50.00"))
    assert Order.objects.get(number=order["number"]).status == "confirmed"
    # a refund made in Stripe's dashboard arrives as charge.refunded — twice
    request = signed(p.reference, "stripe", outcome="refund", refund_amount="148.00")
    assert deliver(client, request).status_code == 200
    assert deliver(client, request).status_code == 200
    p.refresh_from_db()
    assert (p.status, p.refunded_amount, Refund.objects.count()) == ("refunded", Decimal("198.00"), 2)
    assert Order.objects.get(number=order["number"]).status == "refunded"
    assert stock() == (100, 0)
    # more than was paid is flagged, never applied
    over = signed(p.reference, "stripe", outcome="refund", refund_amount="1.00")
    assert deliver(client, over).status_code == 400
    assert Refund.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("group", ["Customer service", "Warehouse"])
def test_only_finance_can_refund(client, order, start, group):
    payment = start(order["number"], "stripe")
    deliver(client, signed(payment["reference"], "stripe"))
    staff(client, group)
    p = Payment.objects.get()
    assert (
        client.post(
            reverse("admin:payments_payment_refund", args=[p.pk]),
            {"amount": "198.00", "reason": "x", "number": new_refund_number()},
        ).status_code
        == 403
    )
    assert Payment.objects.get().status == "paid"


@pytest.mark.django_db
def test_stale_payments_are_asked_about_and_applied_like_a_callback(order, start):
    payment = start(order["number"], "wechatpay")
    signed(payment["reference"], "wechatpay")  # the sandbox gateway records the payment as paid
    assert payment_query_stale() == 0  # not stale yet
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        assert payment_query_stale() == 1
        assert payment_query_stale() == 0
    o = Order.objects.get(number=order["number"])
    assert (o.status, o.payment_status) == ("confirmed", "paid")
    assert TransitionLog.objects.get(object_repr=o.number, target="confirmed").actor == "task:query_stale_payments"
    assert StockMovement.objects.filter(kind="commit").count() == 1


@pytest.mark.django_db
def test_finance_replays_a_stored_callback_harmlessly(client, order, start):
    payment = start(order["number"], "paypal")
    deliver(client, signed(payment["reference"], "paypal"))
    event = PaymentEvent.objects.get(kind="callback")
    staff(client, "Finance")
    with time_machine.travel(timezone.now() + timedelta(hours=2)):  # long after the signature's freshness
        client.post(
            reverse("admin:payments_paymentevent_changelist"), {"action": "replay", "_selected_action": [event.pk]}
        )
    replay = PaymentEvent.objects.get(kind="replay")
    assert (replay.replay_of, replay.signature_valid, replay.outcome) == (event, True, "duplicate")
    assert StockMovement.objects.filter(kind="commit").count() == 1
    client.logout()
    staff(client, "Customer service")
    form = client.get(reverse("admin:payments_paymentevent_changelist")).context["action_form"]
    assert form is None or "replay" not in [n for n, _ in form.fields["action"].choices]


@pytest.mark.django_db
def test_attention_list_shows_mismatches(client, order, start):
    payment = start(order["number"], "alipay")
    deliver(client, signed(payment["reference"], "alipay", amount="1.00"))
    staff(client, "Finance")
    page = client.get(reverse("admin:payments_paymentattention_changelist")).content.decode()
    assert payment["reference"] in page
    assert Payment.objects.aggregate(s=Sum("refunded_amount"))["s"] == 0


@pytest.mark.django_db
def test_one_follow_up_is_enqueued_however_often_the_success_arrives(
    client, order, start, django_capture_on_commit_callbacks
):
    payment = start(order["number"], "alipay")
    request = signed(payment["reference"], "alipay")
    with django_capture_on_commit_callbacks() as callbacks:
        for _ in range(5):
            deliver(client, request)
    # start_fulfillment and the payment-confirmed messages, each enqueued once (the other hook: a stage timing)
    assert len([c for c in callbacks if c.__name__ == "publish"]) == 2
    from notifications.models import Notification

    assert Notification.objects.filter(event="payment_confirmed").count() == 2  # e-mail and SMS
