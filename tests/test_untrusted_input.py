"""Untrusted input is refused with the contract's JSON error (or the gateway's own refusal), never a 500 and
never a change: one test for each 500 found from outside, and the bounds of the callback endpoints."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from fulfillment.carriers import get_carrier
from fulfillment.models import Shipment, TrackingEvent
from notifications.models import Notification
from orders.models import Order
from payments.gateways import get_gateway
from payments.models import PaymentEvent
from tests.conftest import order_body
from tests.factories import UserFactory
from tests.fulfillment.test_fulfillment import ship_all, track
from tests.payments.conftest import GATEWAYS, deliver, signed


@pytest.fixture
def payment(api, place, product):
    number = place().json()["number"]
    return number, {
        g: api.post(f"/api/v1/orders/{number}/payments/", {"gateway": g}, format="json").json() for g in GATEWAYS
    }


def assert_contract_error(response, status, code):
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code and body["detail"], body


# --- callbacks --------------------------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("gateway", GATEWAYS)
def test_a_nul_byte_in_a_callback_is_refused_and_not_stored(client, payment, gateway):
    number, payments = payment
    request = signed(payments[gateway]["reference"], gateway)
    body = request["body"]
    request["body"] = body[: len(body) // 2] + "\x00" + body[len(body) // 2 :]
    response = deliver(client, request)
    assert 400 <= response.status_code < 500
    assert not PaymentEvent.objects.filter(direction="in").exists()
    assert Order.objects.get(number=number).status == "pending"


@pytest.mark.django_db
@pytest.mark.parametrize("gateway", GATEWAYS)
def test_a_body_not_in_the_gateways_format_is_refused_and_not_stored(client, gateway):
    for body in (b"\xff\xfe not utf-8", b"[1, 2, 3]", b"hello", b"{" * 5000 + b"}" * 5000):
        response = client.post(f"/api/v1/payments/callbacks/{gateway}/", body, content_type="application/json")
        assert 400 <= response.status_code < 500, (gateway, body[:20], response.status_code)
    assert not PaymentEvent.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("gateway", GATEWAYS)
def test_callbacks_over_64_kib_are_413_before_anything_is_stored(client, payment, gateway):
    _number, payments = payment
    request = signed(payments[gateway]["reference"], gateway)
    request["body"] = request["body"] + " " * (64 * 1024)
    assert_contract_error(deliver(client, request), 413, "payload_too_large")
    assert not PaymentEvent.objects.filter(direction="in").exists()


@pytest.mark.django_db
def test_non_ascii_stripe_signature_is_refused(client, payment):
    _number, payments = payment
    request = signed(payments["stripe"]["reference"], "stripe")
    request["headers"]["Stripe-Signature"] = "t=1,v1=签名"
    response = deliver(client, request)
    assert response.status_code == 400
    assert PaymentEvent.objects.get(direction="in").signature_valid is False


@pytest.mark.django_db
def test_a_notification_whose_fields_do_not_fit_is_refused(client, payment):
    """Signed, but carrying an amount no column can hold: refused, not a database error."""
    _number, payments = payment
    forged = get_gateway("wechatpay").sandbox_request(
        reference=payments["wechatpay"]["reference"],
        amount=Decimal("99999999999999.00"),
        currency="CNY",
        outcome="success",
        txn_id="4200000000000000000000000001",
        now=timezone.now(),
    )
    response = client.post(forged.path, forged.body, content_type=forged.content_type, headers=forged.headers)
    assert response.status_code == 400
    assert PaymentEvent.objects.get(direction="in").error.startswith("malformed notification")


@pytest.mark.django_db
def test_callbacks_are_rate_limited_per_source(client, settings):
    settings.CALLBACK_THROTTLE_RATE = "3/min"
    codes = [
        client.post("/api/v1/payments/callbacks/stripe/", b"{}", content_type="application/json").status_code
        for _ in range(5)
    ]
    assert codes[:3] == [400] * 3 and codes[3:] == [429, 429]
    assert_contract_error(
        client.post("/api/v1/payments/callbacks/stripe/", b"{}", content_type="application/json"), 429, "throttled"
    )
    # another gateway is another source; a forged X-Forwarded-For is not
    assert client.post("/api/v1/payments/callbacks/paypal/", b"{}", content_type="application/json").status_code == 400
    forged = client.post(
        "/api/v1/payments/callbacks/stripe/", b"{}", content_type="application/json", HTTP_X_FORWARDED_FOR="10.9.8.7"
    )
    assert forged.status_code == 429


# --- carriers ---------------------------------------------------------------------------------------------------
@pytest.fixture
def shipped(api, client, place, product):
    from fulfillment.tasks import start_fulfillment
    from tests.fulfillment.conftest import pay

    number = place().json()["number"]
    pay(api, client, number)
    start_fulfillment(number)
    ship_all(number, UserFactory(username="wh", group="Warehouse"))
    return Shipment.objects.get(order__number=number)


def sandbox_push(client, tracking_number, events):
    headers, body = get_carrier("sandbox").sign_push(tracking_number=tracking_number, events=events)
    return client.post(
        "/api/v1/shipping/callbacks/sandbox/", body, content_type=headers.pop("Content-Type"), headers=headers
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "event",
    [
        {"id": "e1", "time": "yesterday", "status": "in_transit"},
        {"id": "e1", "time": "2026-13-45T99:00:00+08:00", "status": "in_transit"},
        {"id": "e1", "time": "2026-12-01T10:00:00", "status": "in_transit"},  # no time zone
        {"id": "e1", "time": "2026-12-01T10:00:00+08:00", "status": "in_transit", "location": {"city": "SH"}},
        {"id": ["e1"], "time": "2026-12-01T10:00:00+08:00", "status": "in_transit"},
        {"id": "e\x001", "time": "2026-12-01T10:00:00+08:00", "status": "in_transit"},
    ],
)
def test_signed_sandbox_pushes_with_malformed_fields_are_400(client, shipped, event):
    response = sandbox_push(client, shipped.tracking_number, [event])
    assert_contract_error(response, 400, "invalid_push")
    assert not TrackingEvent.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("carrier", ["sandbox", "sf", "zto", "yto"])
def test_non_ascii_carrier_signatures_are_refused(client, settings, carrier):
    settings.SF_PARTNER_ID, settings.SF_CHECKWORD = "partner", "check"
    settings.ZTO_APP_KEY, settings.ZTO_APP_SECRET = "key", "secret"
    settings.YTO_APP_KEY, settings.YTO_SECRET, settings.YTO_CUSTOMER_CODE = "key", "secret", "code"
    form = {"msgData": "{}", "msgDigest": "签名", "data": "[]", "data_digest": "签名", "logistics_interface": "<x/>"}
    response = client.post(f"/api/v1/shipping/callbacks/{carrier}/", form, headers={"X-Sandbox-Signature": "签名"})
    assert response.status_code == 400, response.content


@pytest.mark.django_db
def test_late_older_news_after_delivery_tells_nobody(client, shipped):
    now = timezone.now()
    assert deliver(client, track(shipped.tracking_number, "delivered", now)).status_code == 200
    told = Notification.objects.count()
    for status in ("exception", "out_for_delivery", "in_transit"):
        assert deliver(client, track(shipped.tracking_number, status, now - timedelta(hours=3))).status_code == 200
    assert Notification.objects.count() == told  # stored, in time order, but no message to anyone
    assert TrackingEvent.objects.filter(shipment=shipped).count() == 4
    assert Shipment.objects.get(pk=shipped.pk).status == "delivered"


# --- storefront API ---------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_nul_in_paths_and_queries_is_a_json_4xx(api):
    assert_contract_error(api.get("/api/v1/orders/%00/"), 404, "not_found")
    assert_contract_error(api.get("/api/v1/products/%00/"), 404, "not_found")
    assert_contract_error(api.post("/api/v1/orders/%00/cancel/"), 404, "not_found")
    assert_contract_error(api.get("/api/v1/orders/?customer_id=%00"), 400, "validation_error")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "raw",
    [
        "[" * 1000 + "]" * 1000,
        '{"customer": ' * 40 + "1" + "}" * 40,
        '{"\\ud800": 1}',
        '{"note": "\\u0000"}',
        '{"items": NaN}',
        b'{"note": "\xff"}',
    ],
)
def test_bodies_that_are_not_acceptable_json_are_400(api, raw):
    response = api.post("/api/v1/orders/", raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY="bad-json")
    assert_contract_error(response, 400, "validation_error")
    assert not Order.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("price", ["1e1", "+99.00", "9_9.00", "٩٩.٠٠", 99, 99.0, "99.0", "99", " 99.00", "99.00\n"])
def test_money_is_a_two_decimal_string(place, product, price):
    response = place(order_body(items=[{"sku": "SKU-001", "quantity": 1, "unit_price": price}]))
    assert_contract_error(response, 400, "validation_error")
    assert "items.0.unit_price" in response.json()["errors"]


@pytest.mark.django_db
@pytest.mark.parametrize("quantity", ["1_0", "2", 2.0, True, "٢"])
def test_quantity_is_a_json_integer(place, product, quantity):
    response = place(order_body(items=[{"sku": "SKU-001", "quantity": quantity, "unit_price": "99.00"}]))
    assert_contract_error(response, 400, "validation_error")
    assert "items.0.quantity" in response.json()["errors"]
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_every_api_answer_is_json(api, client, monkeypatch):
    assert_contract_error(api.get("/api/v1/no-such-thing/"), 404, "not_found")
    assert_contract_error(api.delete("/api/v1/orders/"), 405, "method_not_allowed")
    assert_contract_error(client.get("/api/v1/orders/"), 401, "not_authenticated")

    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("orders.selectors.order_list", broken)
    api.raise_request_exception = False
    assert_contract_error(api.get("/api/v1/orders/"), 500, "server_error")
    big = json.dumps(order_body(note="x" * (2 * 1024 * 1024)))
    assert_contract_error(
        api.post("/api/v1/orders/", big, content_type="application/json", HTTP_IDEMPOTENCY_KEY="big"),
        413,
        "payload_too_large",
    )


@pytest.mark.django_db
def test_metrics_token_with_non_ascii_is_refused_not_a_crash(client, settings):
    settings.METRICS_TOKEN = "secret"
    assert client.get("/metrics", headers={"Authorization": "Bearer 秘密"}).status_code == 401
