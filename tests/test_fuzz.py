"""The fuzz tier: hypothesis over what gateways and carriers may send — random bodies and headers, and
genuine signed requests with bytes changed. Never a 500; nothing is accepted that was not signed as sent."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fulfillment.carriers import get_carrier
from fulfillment.models import TrackingEvent
from orders.models import Order
from tests.payments.conftest import GATEWAYS, signed

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
CARRIERS = ["sandbox", "sf", "zto", "yto"]

header_values = st.text(alphabet=st.characters(codec="latin-1"), max_size=80)
headers = st.dictionaries(
    st.sampled_from(
        [
            "Stripe-Signature",
            "Wechatpay-Signature",
            "Wechatpay-Timestamp",
            "Wechatpay-Nonce",
            "Wechatpay-Serial",
            "Paypal-Transmission-Id",
            "Paypal-Transmission-Time",
            "Paypal-Transmission-Sig",
            "Paypal-Auth-Algo",
            "X-Sandbox-Signature",
            "Content-Type",
        ]
    ),
    header_values,
    max_size=6,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
bodies = st.one_of(
    st.binary(max_size=600),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(
        st.sampled_from(
            [
                "out_trade_no",
                "sign",
                "sign_type",
                "trade_status",
                "total_amount",
                "data",
                "data_digest",
                "msgData",
                "msgDigest",
                "logistics_interface",
                "resource",
                "event_type",
            ]
        ),
        st.text(max_size=30),
    ).map(lambda d: "&".join(f"{k}={v}" for k, v in d.items()).encode()),
)


def post(client, path, body, extra_headers):
    content_type = extra_headers.pop("Content-Type", "application/json")
    return client.post(path, body, content_type=content_type or "application/json", headers=extra_headers)


@pytest.fixture
def carriers_configured(settings):
    settings.SF_PARTNER_ID, settings.SF_CHECKWORD = "partner", "checkword"
    settings.ZTO_APP_KEY, settings.ZTO_APP_SECRET = "zto-key", "zto-secret"
    settings.YTO_APP_KEY, settings.YTO_SECRET, settings.YTO_CUSTOMER_CODE = "yto-key", "yto-secret", "K100"


@pytest.mark.django_db
@pytest.mark.parametrize("gateway", GATEWAYS)
@FUZZ
@given(body=bodies, extra=headers)
def test_random_gateway_callbacks_are_refused_never_a_500(client, gateway, body, extra):
    response = post(client, f"/api/v1/payments/callbacks/{gateway}/", body, dict(extra))
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:200])


@pytest.mark.django_db
@pytest.mark.parametrize("carrier", CARRIERS)
@FUZZ
@given(body=bodies, extra=headers)
def test_random_carrier_pushes_are_refused_never_a_500(client, carriers_configured, carrier, body, extra):
    extra = dict(extra)
    if carrier != "sandbox":
        extra["Content-Type"] = "application/x-www-form-urlencoded"
    response = post(client, f"/api/v1/shipping/callbacks/{carrier}/", body, extra)
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:200])
    assert not TrackingEvent.objects.exists()


@pytest.fixture
def pending_payments(api, place, product):
    number = place().json()["number"]
    return number, {
        g: api.post(f"/api/v1/orders/{number}/payments/", {"gateway": g}, format="json").json() for g in GATEWAYS
    }


@pytest.mark.django_db
@pytest.mark.parametrize("gateway", GATEWAYS)
@FUZZ
@given(data=st.data())
def test_a_genuine_callback_with_any_byte_changed_is_never_accepted(client, pending_payments, gateway, data):
    number, payments = pending_payments
    request = signed(payments[gateway]["reference"], gateway)
    body = bytearray(request["body"].encode())
    position = data.draw(st.integers(0, 10**6)) % len(body)  # the signed body's length varies (times, ids)
    body[position] = (body[position] + data.draw(st.integers(1, 255))) % 256
    headers = dict(request["headers"])
    before = Order.objects.get(number=number).status  # an earlier example may have paid it (Alipay, below)
    response = post(client, request["path"], bytes(body), headers)
    assert response.status_code != 500
    if gateway == "alipay" and response.content == b"success":
        # Alipay leaves form encoding out of its signature: a change that decodes to the same fields is the
        # same notification (e.g. "+" and "%20"); it may pay only this very payment.
        assert Order.objects.get(number=number).status in ("pending", "confirmed")
        return
    assert 400 <= response.status_code < 500, (position, response.status_code, response.content[:200])
    assert Order.objects.get(number=number).status == before  # a refused callback changes nothing


@pytest.mark.django_db
@FUZZ
@given(data=st.data())
def test_a_genuine_carrier_push_with_any_byte_changed_is_never_accepted(client, data):
    headers, body = get_carrier("sandbox").sign_push(
        tracking_number="SB0001", events=[{"id": "e1", "time": "2026-12-01T10:00:00+08:00", "status": "in_transit"}]
    )
    raw = bytearray(body.encode())
    position = data.draw(st.integers(0, 10**6)) % len(raw)
    raw[position] = (raw[position] + data.draw(st.integers(1, 255))) % 256
    response = post(client, "/api/v1/shipping/callbacks/sandbox/", bytes(raw), dict(headers))
    assert 400 <= response.status_code < 500, (position, response.status_code, response.content[:200])
