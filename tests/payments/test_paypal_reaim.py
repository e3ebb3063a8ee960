"""PayPal signs `id|time|webhook_id|crc32(body)`: a body rewritten to another order and padded back to the
same CRC32 carries a genuine signature. Such a twin must never pay anything."""

import json
import zlib

import pytest

from orders.models import Order
from payments.models import Payment, PaymentEvent
from tests.conftest import order_body
from tests.payments.conftest import deliver, signed


def crc32_twin(body: str, target_crc: int, padding_field: str = "summary") -> str:
    """`body` (a JSON object) with a string field of 'A'/'B' padding chosen so that crc32 == target_crc.

    CRC32 is affine over GF(2) for messages of one length: flipping padding character i from 'A' to 'B'
    XORs a fixed delta into the CRC, so choosing which to flip is a linear system of 32 equations.
    """
    event = json.loads(body)
    n = 64
    event[padding_field] = "A" * n
    base = json.dumps(event)
    start = base.index("A" * n)
    base_crc = zlib.crc32(base.encode())
    deltas = []
    for i in range(n):
        flipped = base[: start + i] + "B" + base[start + i + 1 :]
        deltas.append(zlib.crc32(flipped.encode()) ^ base_crc)
    # Gaussian elimination: find a subset of deltas whose XOR is base_crc ^ target_crc.
    want = base_crc ^ target_crc
    rows = [(d, 1 << i) for i, d in enumerate(deltas)]
    pivots = []
    for bit in range(31, -1, -1):
        row = next((r for r in rows if r[0] >> bit & 1), None)
        if row is None:
            continue
        rows.remove(row)
        rows = [(d ^ row[0], m ^ row[1]) if d >> bit & 1 else (d, m) for d, m in rows]
        pivots = [(d ^ row[0], m ^ row[1]) if d >> bit & 1 else (d, m) for d, m in pivots]
        pivots.append(row)
    chosen = 0
    for d, m in pivots:
        lead = d.bit_length() - 1
        if want >> lead & 1:
            want ^= d
            chosen ^= m
    assert want == 0, "padding too short to reach the CRC"
    padding = "".join("B" if chosen >> i & 1 else "A" for i in range(n))
    twin = base[:start] + padding + base[start + n :]
    assert zlib.crc32(twin.encode()) == target_crc
    return twin


def reaimed(request: dict, reference: str, amount: str) -> dict:
    """The genuine request with its body re-aimed at another payment and padded to the same CRC32."""
    event = json.loads(request["body"])
    event["resource"]["custom_id"] = reference
    event["resource"]["amount"]["value"] = amount
    twin = crc32_twin(json.dumps(event), zlib.crc32(request["body"].encode()))
    return {**request, "body": twin}


@pytest.fixture
def two_orders(place, product, start):
    genuine = place(order_body()).json()
    victim = place(order_body(customer={**order_body()["customer"], "id": "victim"})).json()
    return start(genuine["number"], "paypal"), start(victim["number"], "paypal")


def status_of(payment):
    order = Order.objects.get(payments__reference=payment["reference"])
    return order.status, order.payment_status, Payment.objects.get(reference=payment["reference"]).status


@pytest.mark.django_db
@pytest.mark.parametrize("twin_first", [False, True])
def test_a_crc32_twin_of_a_genuine_webhook_pays_nothing(client, two_orders, twin_first):
    mine, victim = two_orders
    request = signed(mine["reference"], "paypal")
    twin = reaimed(request, victim["reference"], victim["amount"])
    assert json.loads(twin["body"])["resource"]["custom_id"] == victim["reference"]

    if not twin_first:
        assert deliver(client, request).status_code == 200
    response = deliver(client, twin)
    assert response.status_code == 400
    assert status_of(victim) == ("pending", "pending", "pending")
    forged = PaymentEvent.objects.filter(reference=victim["reference"], kind="callback").get()
    assert (forged.outcome, forged.signature_valid) == ("rejected", False)
    if twin_first:  # the genuine delivery still goes through afterwards
        assert deliver(client, request).status_code == 200
    assert status_of(mine) == ("confirmed", "paid", "paid")


@pytest.mark.django_db
def test_a_transmission_id_seen_with_another_body_is_refused(client, two_orders):
    """A twin that claims exactly what the API says (only padding differs) is still refused: PayPal never
    sends one transmission with two bodies."""
    mine, _victim = two_orders
    request = signed(mine["reference"], "paypal")
    assert deliver(client, request).status_code == 200
    twin = {**request, "body": crc32_twin(request["body"], zlib.crc32(request["body"].encode()))}
    assert twin["body"] != request["body"]
    response = deliver(client, twin)
    assert response.status_code == 400
    event = PaymentEvent.objects.filter(kind="callback").order_by("-id").first()
    assert event.error == "transmission id seen before with another body"
    assert deliver(client, request).status_code == 200  # the genuine resend is still a harmless replay


@pytest.mark.django_db
def test_a_capture_unknown_to_paypal_is_refused(client, two_orders):
    mine, _victim = two_orders
    request = signed(mine["reference"], "paypal")
    body = json.loads(request["body"])
    body["resource"]["id"] = "NOSUCHCAPTURE00"
    twin = {**request, "body": crc32_twin(json.dumps(body), zlib.crc32(request["body"].encode()))}
    assert deliver(client, twin).status_code == 400
    assert status_of(mine) == ("pending", "pending", "pending")
