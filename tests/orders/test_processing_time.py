"""Our own processing time per order (ready → picking lists sent; the payment wait excluded), and one staff
alert when it is over SLOW_ORDER_SECONDS."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from fulfillment.services import shipment_create_for_order
from notifications.models import Notification
from orders.models import Order
from tests.conftest import order_body
from tests.payments.conftest import deliver, signed


def pay(api, client, number):
    payment = api.post(f"/api/v1/orders/{number}/payments/", {"gateway": "stripe"}, format="json").json()
    deliver(client, signed(payment["reference"], "stripe"))


@pytest.mark.django_db
def test_processing_time_excludes_the_payment_wait_and_a_slow_order_alerts_staff_once(
    api, client, place, product, settings
):
    settings.SLOW_ORDER_SECONDS = 30
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        quick = place(order_body()).json()["number"]
        slow = place(order_body(customer={**order_body()["customer"], "id": "c-slow"})).json()["number"]
    with time_machine.travel(start + timedelta(hours=2), tick=False):  # the customers took two hours to pay
        pay(api, client, quick)
        pay(api, client, slow)
    with time_machine.travel(start + timedelta(hours=2, seconds=5), tick=False):
        shipment_create_for_order(order_number=quick, actor="task:start_fulfillment")
    with time_machine.travel(start + timedelta(hours=2, seconds=95), tick=False):  # a worker backlog
        shipment_create_for_order(order_number=slow, actor="task:start_fulfillment")
        shipment_create_for_order(order_number=slow, actor="task:start_fulfillment")  # run twice: nothing new

    assert Order.objects.get(number=quick).processing_seconds == pytest.approx(5, abs=1)
    assert Order.objects.get(number=slow).processing_seconds == pytest.approx(95, abs=1)
    [alert] = Notification.objects.filter(event="slow_order")
    assert alert.order.number == slow and alert.recipient in settings.STAFF_NOTIFY["slow_order"]
    assert alert.context["seconds"] == 95
