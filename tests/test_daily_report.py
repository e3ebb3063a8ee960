"""The daily order-health report: the page's figures for the last day and recommendations derived from them,
e-mailed to staff once a day."""

import pytest
from django.core import mail

from notifications.models import Notification
from notifications.services import daily_report_send, notification_deliver
from orders.models import Order
from tests.conftest import order_body
from tests.payments.conftest import deliver, signed


@pytest.mark.django_db
def test_the_report_matches_the_data_and_says_what_to_do(api, client, place, product, settings):
    references = []
    for i in range(4):
        number = place(order_body(customer={**order_body()["customer"], "id": f"r-{i}"})).json()["number"]
        payment = api.post(f"/api/v1/orders/{number}/payments/", {"gateway": "wechatpay"}, format="json").json()
        references.append(payment["reference"])
    for reference in references[:2]:
        assert deliver(client, signed(reference, "wechatpay")).status_code in (200, 204)
    for _ in range(10):  # a platform certificate rotated on their side: every signature now fails
        forged = signed(references[3], "wechatpay")
        forged["headers"]["Wechatpay-Signature"] = forged["headers"]["Wechatpay-Signature"][::-1]
        assert deliver(client, forged).status_code >= 400

    daily_report_send()
    assert daily_report_send() is None  # once a day
    report = Notification.objects.get(event="daily_report")

    [advice] = report.context["advice"]
    assert "WeChat Pay" in advice and "signature" in advice and "83.3%" in advice and "(10 of 12)" in advice
    sections = {s["title"]: s["rows"] for s in report.context["sections"]}
    by_status = dict(map(tuple, sections["Orders placed in the range, by status now"]))
    assert by_status["Confirmed"] == str(Order.objects.filter(status="confirmed").count()) == "2"
    assert by_status["Pending payment"] == "2"
    assert report.recipient in settings.STAFF_NOTIFY["daily_report"]
    assert notification_deliver(notification_id=report.pk) == "sent"
    [email] = [m for m in mail.outbox if m.to == [report.recipient]]
    assert "WeChat Pay" in email.body and "/admin/order-health/?range=day" in email.body
