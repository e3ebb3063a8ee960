"""Each gateway's real signature scheme, through the public callback endpoint."""

import json
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from core.models import TransitionLog
from inventory.models import StockItem, StockMovement
from orders.models import Order
from payments.models import Payment, PaymentEvent
from payments.sandbox import keys
from tests.payments.conftest import GATEWAYS, deliver, signed

ACCEPTED = {"alipay": (200, b"success"), "wechatpay": (204, b""), "stripe": (200, None), "paypal": (200, None)}


def assert_accepted(gateway, response):
    status, body = ACCEPTED[gateway]
    assert response.status_code == status, response.content
    if body is not None:
        assert response.content == body


def assert_refused(gateway, response):
    assert 400 <= response.status_code < 500, (response.status_code, response.content)
    if gateway == "alipay":
        assert response.content == b"failure"
    if gateway == "wechatpay":
        assert response.json()["code"] == "FAIL"


def snapshot(number):
    order = Order.objects.get(number=number)
    return (
        order.status,
        order.payment_status,
        list(StockItem.objects.values_list("on_hand", "reserved")),
        StockMovement.objects.filter(kind="commit").count(),
        TransitionLog.objects.filter(object_repr=number).count(),
    )


@pytest.mark.django_db
@pytest.mark.parametrize("gateway", GATEWAYS)
def test_valid_success_confirms_the_order_and_commits_stock(client, order, start, gateway):
    payment = start(order["number"], gateway)
    assert payment["status"] == "pending" and payment["amount"] == order["pricing"]["total"]
    assert payment["action"]
    response = deliver(client, signed(payment["reference"], gateway))
    assert_accepted(gateway, response)
    o = Order.objects.get(number=order["number"])
    assert (o.status, o.payment_status) == ("confirmed", "paid")
    assert list(StockItem.objects.values_list("on_hand", "reserved")) == [(98, 0)]
    commit = StockMovement.objects.get(kind="commit")
    assert (commit.on_hand_delta, commit.reserved_delta, commit.actor) == (-2, -2, f"gateway:{gateway}")
    log = TransitionLog.objects.get(object_repr=order["number"], field="status", target="confirmed")
    assert log.actor == f"gateway:{gateway}"
    event = PaymentEvent.objects.get(kind="callback")
    assert (event.signature_valid, event.outcome, event.payment.reference) == (True, "applied", payment["reference"])


def _tamper(gateway, request):
    if gateway == "alipay":
        request["body"] = request["body"].replace("total_amount=198.00", "total_amount=1.00")
    else:
        body = json.loads(request["body"])
        body["id"] = "tampered"
        if gateway == "paypal":
            body["resource"]["amount"]["value"] = "1.00"
        request["body"] = json.dumps(body)
    return request


def _unsign(gateway, request):
    if gateway == "alipay":
        request["body"] = "&".join(p for p in request["body"].split("&") if not p.startswith("sign="))
    else:
        for header in list(request["headers"]):
            if "signature" in header.lower() or header.upper() == "PAYPAL-TRANSMISSION-SIG":
                del request["headers"][header]
    return request


def _wrong_key(gateway, reference, monkeypatch):
    """Signed exactly right, but by somebody else's key or secret."""
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    real_key, real_secret = keys.sandbox_private_key, keys.sandbox_secret
    monkeypatch.setattr(keys, "sandbox_private_key", lambda name: impostor)
    monkeypatch.setattr(
        keys, "sandbox_secret", lambda name, length=32: "x" * length if "stripe" in name else real_secret(name, length)
    )
    request = signed(reference, gateway)
    monkeypatch.setattr(keys, "sandbox_private_key", real_key)
    monkeypatch.setattr(keys, "sandbox_secret", real_secret)
    return request


@pytest.mark.django_db
@pytest.mark.parametrize("gateway", GATEWAYS)
@pytest.mark.parametrize(
    "attack",
    ["tampered", "missing_signature", "wrong_key", "stale", "unknown_reference", "wrong_amount", "wrong_currency"],
)
def test_forged_or_mismatched_callbacks_change_nothing_but_the_stored_event(
    client, order, start, gateway, attack, monkeypatch
):
    payment = start(order["number"], gateway)
    ref = payment["reference"]
    if attack == "stale" and gateway == "alipay":
        pytest.skip("Alipay's notification carries no signed timestamp")
    request = {
        "tampered": lambda: _tamper(gateway, signed(ref, gateway)),
        "missing_signature": lambda: _unsign(gateway, signed(ref, gateway)),
        "wrong_key": lambda: _wrong_key(gateway, ref, monkeypatch),
        "stale": lambda: signed(ref, gateway, stale=True),
        "unknown_reference": lambda: signed("PNOSUCHPAYMENT0001", gateway, amount="198.00"),
        "wrong_amount": lambda: signed(ref, gateway, amount="1.00"),
        "wrong_currency": lambda: signed(ref, gateway, currency="USD"),
    }[attack]()
    before = snapshot(order["number"])
    events = PaymentEvent.objects.filter(direction="in").count()
    response = deliver(client, request)
    assert_refused(gateway, response)
    assert snapshot(order["number"]) == before
    assert Payment.objects.get(reference=ref).status == "pending"
    assert PaymentEvent.objects.filter(direction="in").count() == events + 1
    event = PaymentEvent.objects.filter(direction="in").latest("id")
    assert event.body == request["body"]  # kept raw for audit
    assert event.outcome in ("rejected", "flagged")
    if attack in ("tampered", "missing_signature", "wrong_key") and not (
        attack == "tampered" and gateway == "wechatpay"
    ):
        assert event.signature_valid is False
    if attack == "wrong_amount":
        assert event.outcome == "flagged"
        assert "mismatch" in Payment.objects.get(reference=ref).attention.lower()


@pytest.mark.django_db
@pytest.mark.parametrize("gateway", GATEWAYS)
def test_the_same_success_five_times_moves_the_order_once(client, order, start, gateway):
    payment = start(order["number"], gateway)
    request = signed(payment["reference"], gateway)
    for _ in range(5):
        assert_accepted(gateway, deliver(client, request))
    assert StockMovement.objects.filter(kind="commit").count() == 1
    assert TransitionLog.objects.filter(object_repr=order["number"], target="confirmed").count() == 1
    assert list(PaymentEvent.objects.filter(kind="callback").values_list("outcome", flat=True).order_by("id")) == [
        "applied",
        "duplicate",
        "duplicate",
        "duplicate",
        "duplicate",
    ]


@pytest.mark.django_db
def test_unknown_gateway_and_unpayable_orders(api, client, order, start):
    assert (
        client.post("/api/v1/payments/callbacks/bitcoin/", data=b"{}", content_type="application/json").status_code
        == 400
    )
    response = api.post(f"/api/v1/orders/{order['number']}/payments/", {"gateway": "bitcoin"}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "unsupported_gateway")
    api.post(f"/api/v1/orders/{order['number']}/cancel/")
    response = api.post(f"/api/v1/orders/{order['number']}/payments/", {"gateway": "alipay"}, format="json")
    assert response.status_code == 409
    assert (response.json()["code"], response.json()["status"]) == ("invalid_transition", "cancelled")


@pytest.mark.django_db
def test_order_detail_lists_its_payments(api, client, order, start):
    payment = start(order["number"], "stripe")
    deliver(client, signed(payment["reference"], "stripe"))
    detail = api.get(f"/api/v1/orders/{order['number']}/").json()
    assert detail["status"] == "confirmed"
    assert [(p["reference"], p["status"], p["amount"]) for p in detail["payments"]] == [
        (payment["reference"], "paid", "198.00")
    ]
    assert Decimal(detail["payments"][0]["amount"]) == Decimal(order["pricing"]["total"])
