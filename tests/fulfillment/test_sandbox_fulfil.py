"""`manage.py sandbox_fulfil`: a paid order through the warehouse and the sandbox carrier, as staff and the
carrier would take it, for storefront developers."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from core.models import TransitionLog
from fulfillment.models import Shipment, TrackingEvent
from inventory.models import StockItem, StockMovement
from notifications.models import Notification
from orders.models import Order, Return
from payments.models import Refund
from tests.conftest import order_body
from tests.factories import UserFactory
from tests.orders.test_backorders import ledger_matches
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


@pytest.mark.django_db
def test_the_whole_after_sales_life_place_pay_fulfil_deliver_return_refund(api, client, place, product):
    """What a storefront developer runs against the sandbox, with states, ledger and messages at each step."""
    number = paid_order(api, client, place)
    assert Order.objects.get(number=number).status == "confirmed"
    item = StockItem.objects.get(product=product)
    assert (item.on_hand, item.reserved) == (98, 0)  # 100 in stock, 2 sold and committed
    assert fulfil(number, "--until", "delivered")["status"] == "delivered"
    told = set(Notification.objects.filter(order__number=number, channel="email").values_list("event", flat=True))
    assert {"order_placed", "payment_confirmed", "processing", "shipped", "delivered"} <= told

    body = {"items": [{"sku": "SKU-001", "quantity": 2}], "reason": "changed_mind", "note": ""}
    ret = api.post(f"/api/v1/orders/{number}/returns/", body, format="json").json()
    assert (ret["status"], ret["refund_amount"]) == ("requested", "198.00")
    returned = Return.objects.get(number=ret["number"])
    client.force_login(UserFactory(username="cs", group="Customer service"))
    client.post(reverse("admin:orders_return_decide", args=[returned.pk, "approve"]), {"reason": ""})
    line = returned.lines.get()
    client.post(
        reverse("admin:orders_return_receive", args=[returned.pk]),
        {f"line_{line.pk}": str(item.warehouse_id), f"why_{line.pk}": ""},
    )
    item.refresh_from_db()
    assert item.on_hand == 100 and ledger_matches(item)
    assert StockMovement.objects.filter(kind="return", reference=returned.number).count() == 1
    client.force_login(UserFactory(username="fin", group="Finance"))
    client.post(reverse("admin:payments_payment_return_refund", args=[returned.number]), {})
    assert api.get(f"/api/v1/orders/{number}/").json()["returns"][0]["status"] == "refunded"
    assert Order.objects.get(number=number).status == "refunded"
    assert Refund.objects.get(number=f"RF{returned.number}").status == "succeeded"
    told = set(Notification.objects.filter(order__number=number, channel="email").values_list("event", flat=True))
    assert {"return_requested", "return_approved", "return_refunded", "order_refunded"} <= told
