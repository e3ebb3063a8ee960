"""`make drill` against a live server: the burst lands, and the order-health page shows it with advice."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from orders.models import Order
from payments.models import PaymentEvent
from tests.factories import UserFactory


@pytest.mark.django_db(transaction=True)
def test_the_drill_leaves_the_dashboard_showing_it(live_server, product, client):
    out = io.StringIO()
    call_command("ops_drill", "--url", live_server.url, "--orders", "40", "--clients", "2", "--forged-share", "1",
                 stdout=out)  # fmt: skip
    summary = out.getvalue()
    assert "price_mismatch" in summary and '"created": 36' in summary
    assert Order.objects.filter(customer_id__startswith="drill-").count() == 36
    forged = PaymentEvent.objects.filter(gateway="wechatpay", outcome="rejected", signature_valid=False).count()
    assert forged == 12
    client.force_login(UserFactory(username="ops", group="Finance"))
    page = client.get(reverse("order-health") + "?range=hour").content.decode()
    assert "WeChat Pay" in page and "signature" in page  # the recommendation
    assert "price_mismatch" in page
