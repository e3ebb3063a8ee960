"""Production log lines: one JSON object each, with the request id and the order number on every line about an
order, and no customer e-mail or phone below WARNING."""

import io
import json
import logging

import pytest

from config.logs import json_formatter
from tests.conftest import order_body
from tests.payments.conftest import deliver, signed


@pytest.fixture
def json_lines():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)


@pytest.mark.django_db
def test_a_callbacks_lines_carry_its_request_id_and_order(api, client, place, product, json_lines):
    number = place(order_body()).json()["number"]
    payment = api.post(f"/api/v1/orders/{number}/payments/", {"gateway": "stripe"}, format="json").json()
    request = signed(payment["reference"], "stripe")
    request["headers"]["X-Request-ID"] = "lb-7f3a9c"
    response = deliver(client, request)

    assert response["X-Request-ID"] == "lb-7f3a9c"
    [confirmed] = [line for line in json_lines() if "confirmed" in line["event"]]
    assert confirmed["request_id"] == "lb-7f3a9c" and confirmed["order"] == number
    assert confirmed["level"] == "info" and confirmed["logger"] == "payments.services" and confirmed["timestamp"]
    other = client.get("/healthz")
    assert len(other["X-Request-ID"]) == 32 and other["X-Request-ID"] != "lb-7f3a9c"  # a new id per request


def test_no_email_or_phone_below_warning(json_lines):
    log = logging.getLogger("orders.services")
    log.info("contact %s / %s changed", "zhang.san@example.com", "+86 138 0013 8000")
    log.warning("blocked customer %s", "fraud@example.com")
    info, warning = json_lines()
    assert "example.com" not in info["event"] and "138" not in info["event"] and "[e-mail]" in info["event"]
    assert "fraud@example.com" in warning["event"]  # staff need it when something is wrong
