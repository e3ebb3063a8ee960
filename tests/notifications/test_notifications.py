"""Every message once, in the customer's language, retried with backoff, resent by staff."""

import io
import json
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from pypdf import PdfReader

from config.celery_app import app
from fulfillment.models import Shipment
from fulfillment.tasks import start_fulfillment
from notifications.models import Event, Notification
from notifications.services import PUSH_EVENTS, SMS_EVENTS, notification_sweep
from orders.models import Order
from tests.conftest import order_body
from tests.factories import UserFactory
from tests.fulfillment.test_fulfillment import ship_all, track
from tests.payments.conftest import deliver, signed


@pytest.fixture(autouse=True)
def eager(settings, tmp_path):
    """Tasks enqueued on commit run at once, as a worker would; SMS go to files."""
    settings.SMS_BACKEND = "file"
    settings.SMS_FILE_DIR = str(tmp_path / "sms")
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def sms_files(settings):
    from pathlib import Path

    return sorted(json.loads(p.read_text())["text"] for p in Path(settings.SMS_FILE_DIR).glob("*.json"))


def pay(api, client, number, gateway="stripe", times=1):
    payment = api.post(f"/api/v1/orders/{number}/payments/", {"gateway": gateway}, format="json").json()
    request = signed(payment["reference"], gateway)
    for _ in range(times):
        deliver(client, request)
    return payment


@pytest.mark.django_db(transaction=True)
def test_each_event_sends_its_messages_once(api, client, place, product, settings):
    number = place(order_body(language="en")).json()["number"]
    pay(api, client, number, times=3)  # a gateway that resends
    start_fulfillment(number)
    start_fulfillment(number)
    ship_all(number, UserFactory(username="w", group="Warehouse"))
    shipment = Shipment.objects.get()
    push = track(shipment.tracking_number, "out_for_delivery", timezone.now())
    deliver(client, push)
    deliver(client, push)
    deliver(client, track(shipment.tracking_number, "delivered", timezone.now() + timedelta(seconds=1)))
    subjects = [m.subject for m in mail.outbox]
    assert subjects == [
        f"Order {number} received",
        f"Payment received for order {number}",
        f"Order {number} is being prepared",
        f"Order {number} has shipped",
        f"Delivery update for order {number}",
        f"Order {number} was delivered",
    ]
    assert all(m.to == ["zhang.san@example.com"] for m in mail.outbox)
    assert shipment.tracking_number in mail.outbox[3].body and shipment.tracking_url in mail.outbox[3].body
    assert len(sms_files(settings)) == 3  # payment confirmed, shipped, delivered
    assert Notification.objects.filter(status="sent").count() == 9
    invitation = Notification.objects.get(event=Event.REVIEW_INVITATION)
    assert invitation.status == "queued" and invitation.due_at > timezone.now() + timedelta(hours=23)


@pytest.mark.django_db
def test_payment_confirmation_carries_the_order_as_a_pdf(
    api, client, place, product, django_capture_on_commit_callbacks
):
    number = place(order_body()).json()["number"]
    with django_capture_on_commit_callbacks(execute=True):
        pay(api, client, number)
    confirmation = next(m for m in mail.outbox if m.subject == f"已收到订单 {number} 的付款")  # zh-hans by default
    name, content, mimetype = confirmation.attachments[0]
    assert (name, mimetype) == (f"order-{number}.pdf", "application/pdf")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    order = Order.objects.get(number=number)
    assert number in text and f"{order.total:.2f}" in text
    html, mimetype = confirmation.alternatives[0]
    assert mimetype == "text/html" and "<html" in html and number in html


@pytest.mark.django_db
def test_a_failing_sms_provider_is_retried_with_growing_delays_then_resent_once(
    api, client, place, product, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.NOTIFY_MAX_ATTEMPTS = 3
    (tmp_path / "blocker").write_text("not a directory")
    settings.SMS_FILE_DIR = str(tmp_path / "blocker" / "sms")  # every write fails with a real OSError
    number = place(order_body()).json()["number"]
    with django_capture_on_commit_callbacks(execute=True):
        pay(api, client, number)
    sms = Notification.objects.get(event=Event.PAYMENT_CONFIRMED, channel="sms")
    assert (sms.status, sms.attempts) == ("queued", 1) and "Not a directory" in sms.last_error
    delays = [sms.due_at - timezone.now()]
    now = timezone.now()
    for _ in range(2):
        now = sms.due_at + timedelta(seconds=1)
        with time_machine.travel(now):
            notification_sweep()
        sms.refresh_from_db()
        delays.append(sms.due_at - now)
    assert (sms.status, sms.attempts) == ("failed", 3)
    assert delays[1] > delays[0]
    settings.SMS_FILE_DIR = str(tmp_path / "sms")  # the provider is back
    client.force_login(UserFactory(username="cs", group="Customer service"))
    with time_machine.travel(now + timedelta(seconds=5)), django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:notifications_notification_changelist"), {"action": "resend", "_selected_action": [sms.pk]}
        )
    sms.refresh_from_db()
    assert (sms.status, sms.attempts) == ("sent", 1)
    assert len(sms_files(settings)) == 1


@pytest.mark.django_db
def test_review_invitation_goes_out_after_a_day_once_and_never_after_a_refund(api, client, place, product):
    numbers = []
    for i in range(2):
        number = place(order_body(allow_duplicate=True)).json()["number"]
        pay(api, client, number)
        start_fulfillment(number)
        ship_all(number, UserFactory(username=f"w{i}", group="Warehouse"))
        deliver(client, track(Shipment.objects.get(order__number=number).tracking_number, "delivered", timezone.now()))
        numbers.append(number)
    refunded = Order.objects.get(number=numbers[1]).payments.get()
    deliver(client, signed(refunded.reference, "stripe", outcome="refund"))
    with time_machine.travel(timezone.now() + timedelta(hours=23)):
        notification_sweep()
    assert not Notification.objects.filter(event=Event.REVIEW_INVITATION, status="sent").exists()
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        notification_sweep()
        notification_sweep()
    sent = Notification.objects.filter(event=Event.REVIEW_INVITATION, status="sent")
    assert [n.order.number for n in sent] == [numbers[0]]
    assert Notification.objects.get(event=Event.REVIEW_INVITATION, order__number=numbers[1]).status == "cancelled"
    assert sum(1 for m in mail.outbox if "怎么样" in m.subject or "How was" in m.subject) == 1


@pytest.mark.django_db
def test_staff_hear_about_mismatches_and_restock_once(api, client, place, product, settings):
    settings.STAFF_NOTIFY = {
        **settings.STAFF_NOTIFY,
        "amount_mismatch": ["finance@example.com"],
        "restock_alert": ["stock@example.com"],
    }
    number = place(order_body(items=[{"sku": "SKU-001", "quantity": 5, "unit_price": "99.00"}])).json()["number"]
    payment = api.post(f"/api/v1/orders/{number}/payments/", {"gateway": "alipay"}, format="json").json()
    deliver(client, signed(payment["reference"], "alipay", amount="1.00"))
    from inventory.models import RestockAlert, StockItem

    RestockAlert.objects.create(stock_item=StockItem.objects.get(), available=3, reorder_point=10)
    notification_sweep()
    notification_sweep()
    staff = [(n.event, n.recipient, n.status) for n in Notification.objects.exclude(recipient__contains="zhang")]
    assert sorted(staff) == [
        ("amount_mismatch", "finance@example.com", "sent"),
        ("restock_alert", "stock@example.com", "sent"),
    ]


@pytest.fixture
def missing_variables_shown(settings):
    """Our message templates must not read a variable they are not given (the admin theme's templates do, so
    the test settings cannot mark missing variables everywhere)."""
    engine = {**settings.TEMPLATES[0], "OPTIONS": {**settings.TEMPLATES[0]["OPTIONS"]}}
    engine["OPTIONS"]["string_if_invalid"] = "INVALID_TEMPLATE_VARIABLE<%s>"
    settings.TEMPLATES = [engine]


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("event", [e.value for e in Event])
def test_templates_render_in_both_languages_without_missing_variables(
    api, client, place, product, language, event, missing_variables_shown
):
    number = place(order_body()).json()["number"]
    pay(api, client, number)
    start_fulfillment(number)
    ship_all(number, UserFactory(username="w", group="Warehouse"))
    order = Order.objects.get(number=number)
    data = {
        "status_label": "Out for delivery",
        "location": "Shanghai",
        "sku": "SKU-001",
        "available": 3,
        "reorder_point": 10,
        "detail": "Amount mismatch",
        "tracking_number": "SB1",
        "description": "Lost",
        "return_number": "R2612010000ABCD",
        "refund_amount": "89.10",
        "decision": "Worn",
        "url": "https://erp.example.com/hooks",
        "failing_since": "2026-12-01T08:00:00+00:00",
        "seconds": 95,
        "limit": 30,
        "day": "2026-12-05",
        "sections": [{"title": "Stage timings", "rows": [["Placed → paid", "3", "1 min", "4 min"]]}],
        "advice": ["Callbacks from WeChat Pay failed 4.0% (4 of 100), mostly signature errors."],
    }
    n = Notification(
        order=order,
        event=event,
        channel="email",
        recipient="x@example.com",
        language=language,
        context=data,
        subject=number,
    )
    ctx = {
        "n": n,
        "order": order,
        "data": data,
        "items": list(order.items.all()),
        "shipments": list(order.shipments.all()),
    }
    with translation.override(language):
        text = render_to_string(f"notifications/{event}.txt", ctx)
        html = render_to_string("notifications/email.html", {**ctx, "subject": "s", "text": text})
        texts = [text, html]
        if event in SMS_EVENTS | PUSH_EVENTS:  # push sends the short text too
            texts.append(render_to_string(f"notifications/{event}.sms.txt", ctx))
    for t in texts:
        assert "INVALID_TEMPLATE_VARIABLE" not in t
    subject = text.strip().splitlines()[0]
    assert subject
    if language == "zh-hans":
        assert any("\u4e00" <= ch <= "\u9fff" for ch in subject), subject  # really translated
