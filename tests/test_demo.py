"""`make run`'s demo data puts something on every group's home page and in every order state shown."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from fulfillment.models import Shipment
from orders.models import Order, Return
from payments.models import Refund
from tests.factories import UserFactory
from tests.test_admin_pages import todo_counts
from webhooks.models import WebhookDelivery, WebhookEndpoint


@pytest.mark.django_db
def test_the_demo_fills_the_to_do_lists_and_the_order_states():
    for command in ("demo_webhooks", "demo_setup", "demo_payments", "demo_fulfillment"):
        call_command(command, stdout=io.StringIO())
    statuses = set(Order.objects.values_list("status", flat=True))
    assert {"pending", "processing", "shipped", "delivered", "cancelled", "pending_restock"} <= statuses
    assert Order.objects.filter(review_status="held").count() == 1
    assert Return.objects.count() == 1
    assert WebhookEndpoint.objects.count() == 1
    assert Refund.objects.filter(status="succeeded").exists()
    assert Shipment.objects.filter(status="shipped").exclude(tracking_number="").exists()
    assert Order.objects.filter(comments__isnull=False).exists()
    assert Return.objects.filter(status="requested").count() == 1
    assert {"order.placed", "order.paid", "order.shipped"} <= set(
        WebhookDelivery.objects.values_list("event__type", flat=True)
    )

    from django.test import Client

    client = Client()
    client.force_login(UserFactory(username="demo-boss", is_superuser=True))
    cards = todo_counts(client.get(reverse("admin:index")).content.decode())
    assert cards["Orders held for review"] == "1" and int(cards["To pick"]) >= 1
    for command in ("demo_webhooks", "demo_setup", "demo_payments", "demo_fulfillment"):  # again: nothing doubles
        call_command(command, stdout=io.StringIO())
    assert Order.objects.filter(review_status="held").count() == 1
    assert Return.objects.count() == 1
    assert WebhookEndpoint.objects.count() == 1
