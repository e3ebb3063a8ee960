"""The messages a customer expects when an order ends another way than delivery: cancelled, closed unpaid,
payment failed, refunded — each once, even when its cause is repeated, in the customer's language."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone, translation

from core.errors import ApplicationError
from notifications.models import Notification
from notifications.services import render
from orders.services import order_close_expired
from payments.models import Payment
from payments.services import payment_refund
from tests.conftest import order_body
from tests.factories import UserFactory
from tests.payments.conftest import deliver, signed


def told(number, event):
    return sorted(Notification.objects.filter(order__number=number, event=event).values_list("channel", flat=True))


@pytest.mark.django_db
def test_a_cancelled_order_is_told_once_by_email_and_sms_in_chinese(api, place, product):
    number = place(order_body(language="zh-hans")).json()["number"]
    assert api.post(f"/api/v1/orders/{number}/cancel/").status_code == 200
    assert api.post(f"/api/v1/orders/{number}/cancel/").status_code == 409  # again: refused, nothing more
    assert told(number, "order_cancelled") == ["email", "sms"]
    email = Notification.objects.get(order__number=number, event="order_cancelled", channel="email")
    assert "已取消" in render(email).subject


@pytest.mark.django_db
def test_an_order_closed_unpaid_is_told_once(place, product):
    number = place(order_body(language="en")).json()["number"]
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert order_close_expired() == 1
        assert order_close_expired() == 0
    assert told(number, "order_closed") == ["email"]
    with translation.override("en"):
        assert "closed unpaid" in render(Notification.objects.get(order__number=number, event="order_closed")).subject


@pytest.mark.django_db
def test_a_failed_payment_is_told_once_even_when_the_gateway_repeats_it(api, client, place, product):
    number = place(order_body()).json()["number"]
    payment = api.post(f"/api/v1/orders/{number}/payments/", {"gateway": "alipay"}, format="json").json()
    failure = signed(payment["reference"], "alipay", outcome="failure")
    for _ in range(3):
        deliver(client, failure)
    assert told(number, "payment_failed") == ["email", "sms"]


@pytest.mark.django_db
def test_a_refunded_order_is_told_once(api, client, place, product):
    number = place(order_body()).json()["number"]
    start = api.post(f"/api/v1/orders/{number}/payments/", {"gateway": "stripe"}, format="json").json()
    deliver(client, signed(start["reference"], "stripe"))
    payment = Payment.objects.get(reference=start["reference"])
    finance = UserFactory(username="fin", group="Finance")
    payment_refund(payment=payment, amount=payment.amount, user=finance, reason="customer changed mind")
    with pytest.raises(ApplicationError):  # nothing left to refund
        payment_refund(payment=payment, amount=Decimal("1.00"), user=finance, reason="again")
    assert told(number, "order_refunded") == ["email", "sms"]
