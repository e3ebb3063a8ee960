"""`manage.py sandbox_fulfil`: a paid order through the warehouse and the sandbox carrier, as staff and the
carrier would take it, for storefront developers."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from core.models import TransitionLog
from fulfillment.models import Shipment, TrackingEvent
from notifications.models import Notification
from orders.models import Order
from tests.conftest import order_body
from tests.payments.conftest import deliver, signed


def fulfil(number, *args):
    out = io.StringIO()
    call_command("sandbox_fulfil", number, *args, stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def paid_order(api, client, place):
    number = place(order_body()).json()["number"]
    payment = api.post(f"/api/v1/orders/{number}/payments/", {"gateway": "stripe"}, format="json").json()
    deliver(client, signed(payment["reference"], "stripe"))
    return number


@pytest.mark.django_db
def test_a_paid_order_is_shipped_then_delivered_by_signed_sandbox_pushes(api, client, place, product):
    number = paid_order(api, client, place)
    body = fulfil(number)
    assert body["status"] == "shipped" and body["shipments"][0]["tracking_number"].startswith("SB")
    steps = TransitionLog.objects.filter(object_repr__startswith="S", actor="sandbox").values_list("target", flat=True)
    assert {"picking", "packed", "shipped"} <= set(steps)
    body = fulfil(number, "--until", "delivered")
    assert body["status"] == "delivered"
    assert Shipment.objects.get(order__number=number).status == "delivered"
    assert TrackingEvent.objects.filter(shipment__order__number=number).count() == 4
    fulfil(number, "--until", "delivered")  # again: nothing stored or told twice
    assert TrackingEvent.objects.filter(shipment__order__number=number).count() == 4
    assert Notification.objects.filter(order__number=number, event="delivered", channel="email").count() == 1
    assert Order.objects.get(number=number).delivered_at


@pytest.mark.django_db
def test_it_refuses_an_unpaid_order_and_a_live_shop(api, client, place, product, settings):
    unpaid = place(order_body()).json()["number"]
    with pytest.raises(CommandError, match="only a paid order"):
        fulfil(unpaid)
    settings.PAYMENTS_SANDBOX = False
    with pytest.raises(CommandError, match="PAYMENTS_SANDBOX"):
        fulfil(unpaid)
