"""Live WeChat Pay, Alipay, PayPal and Stripe calls (PAYMENTS_SANDBOX=false) against their platforms played
on a local HTTP server: starting a payment, asking about a stale one, refunding — and not believing a forged
answer."""

from datetime import timedelta
from decimal import Decimal
from functools import partial
from urllib.parse import parse_qsl, urlsplit

import pytest
import time_machine

from orders.models import Order
from payments.gateways import GatewayError, get_gateway
from payments.models import Payment, PaymentEvent
from payments.services import GatewayUnavailable, payment_query_stale, payment_refund
from tests.conftest import order_body
from tests.factories import UserFactory
from tests.payments.gateway_platforms import private_pem
from tests.payments.test_paypal_reaim import reaimed


def start(api, number, gateway):
    response = api.post(f"/api/v1/orders/{number}/payments/", {"gateway": gateway}, format="json")
    assert response.status_code == 201, response.json()
    return Payment.objects.get(reference=response.json()["reference"]), response.json()


def query_later(payment):
    with time_machine.travel(payment.created_at + timedelta(minutes=30)):
        return payment_query_stale()


@pytest.mark.django_db
def test_wechatpay_native_order_query_and_refund(api, order, platforms):
    payment, body = start(api, order["number"], "wechatpay")
    trade = platforms.trades[("wechatpay", payment.reference)]
    assert body["action"]["code_url"].startswith("weixin://wxpay/bizpayurl")
    assert trade["amount"] == int(payment.amount * 100) and trade["currency"] == "CNY"
    assert trade["notify_url"].endswith("/api/v1/payments/callbacks/wechatpay/")

    assert query_later(payment) == 0  # NOTPAY: nothing final yet
    assert Order.objects.get(number=order["number"]).status == "pending"
    platforms.pay("wechatpay", payment.reference)
    assert query_later(payment) == 1
    payment.refresh_from_db()
    assert (payment.status, payment.gateway_txn_id) == ("paid", trade["txn"])
    assert Order.objects.get(number=order["number"]).status == "confirmed"

    refund = payment_refund(payment=payment, amount=Decimal("10.00"), user=UserFactory(group="Finance"))
    [sent] = platforms.refunds
    assert sent["amount"] == {"refund": 1000, "total": int(payment.amount * 100), "currency": "CNY"}
    assert sent["out_refund_no"] and refund.gateway_refund_id.startswith("5030")


@pytest.mark.django_db
def test_a_forged_wechatpay_answer_is_not_believed(api, order, platforms):
    payment, _body = start(api, order["number"], "wechatpay")
    platforms.pay("wechatpay", payment.reference)
    platforms.signing_key = "impostor"  # someone between us and WeChat Pay answers "SUCCESS"
    assert query_later(payment) == 0
    payment.refresh_from_db()
    assert payment.status == "pending" and Order.objects.get(number=order["number"]).status == "pending"
    assert not PaymentEvent.objects.filter(payment=payment, kind="query").exists()


@pytest.mark.django_db
def test_wechatpay_refuses_a_request_we_signed_with_the_wrong_key(api, order, platforms, settings):
    settings.WECHATPAY_MCH_PRIVATE_KEY = private_pem("someone-else")
    response = api.post(f"/api/v1/orders/{order['number']}/payments/", {"gateway": "wechatpay"}, format="json")
    assert (response.status_code, response.json()["code"]) == (502, "gateway_error")
    assert "SIGN_ERROR" in response.json()["detail"] and not Payment.objects.exists()


@pytest.mark.django_db
def test_a_wechatpay_answer_without_its_code_url_is_a_gateway_error_not_a_crash(api, order, platforms):
    platforms.broken = True
    response = api.post(f"/api/v1/orders/{order['number']}/payments/", {"gateway": "wechatpay"}, format="json")
    assert (response.status_code, response.json()["code"]) == (502, "gateway_error")
    assert "code_url" in response.json()["detail"] and not Payment.objects.exists()


@pytest.mark.django_db
def test_alipay_query_and_refund(api, order, platforms):
    payment, body = start(api, order["number"], "alipay")
    url = urlsplit(body["action"]["url"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{platforms.url}/gateway.do"
    assert dict(parse_qsl(url.query))["method"] == "alipay.trade.page.pay"

    assert query_later(payment) == 0  # ACQ.TRADE_NOT_EXIST: the customer has not opened the page
    platforms.open_alipay_trade(payment.reference, f"{payment.amount:.2f}")
    assert query_later(payment) == 0  # WAIT_BUYER_PAY
    platforms.pay("alipay", payment.reference)
    assert query_later(payment) == 1
    assert Order.objects.get(number=order["number"]).status == "confirmed"

    payment.refresh_from_db()
    refund = payment_refund(payment=payment, amount=Decimal("5.50"), user=UserFactory(group="Finance"))
    [sent] = platforms.refunds
    assert (sent["out_trade_no"], sent["refund_amount"], sent["out_request_no"]) == (
        payment.reference,
        "5.50",
        refund.gateway_refund_id,
    )


@pytest.mark.django_db
def test_alipay_refuses_a_request_we_signed_with_the_wrong_key(api, order, platforms, settings):
    payment, _body = start(api, order["number"], "alipay")
    platforms.open_alipay_trade(payment.reference, f"{payment.amount:.2f}")
    platforms.pay("alipay", payment.reference)
    settings.ALIPAY_APP_PRIVATE_KEY = private_pem("someone-else")
    assert query_later(payment) == 0  # refused, logged, asked again on the next run
    payment.refresh_from_db()
    assert payment.status == "pending"
    with pytest.raises(GatewayError, match=r"isv\.invalid-signature"):
        get_gateway("alipay").query(reference=payment.reference)


@pytest.mark.django_db
def test_a_forged_alipay_answer_is_not_believed(api, order, platforms):
    payment, _body = start(api, order["number"], "alipay")
    platforms.open_alipay_trade(payment.reference, f"{payment.amount:.2f}")
    platforms.pay("alipay", payment.reference)
    platforms.signing_key = "impostor"
    assert query_later(payment) == 0
    payment.refresh_from_db()
    assert payment.status == "pending" and Order.objects.get(number=order["number"]).status == "pending"


@pytest.mark.django_db
def test_live_mode_without_merchant_keys_says_what_is_missing(api, order, settings):
    settings.PAYMENTS_SANDBOX = False
    settings.WECHATPAY_MCH_PRIVATE_KEY = ""
    response = api.post(f"/api/v1/orders/{order['number']}/payments/", {"gateway": "wechatpay"}, format="json")
    assert (response.status_code, response.json()["code"]) == (502, "gateway_error")
    assert "WECHATPAY_MCH_PRIVATE_KEY" in response.json()["detail"]
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_paypal_order_approval_capture_and_refund(api, client, order, platforms, settings):
    payment, body = start(api, order["number"], "paypal")
    trade = platforms.trades[("paypal", payment.reference)]
    assert body["action"]["paypal_order_id"] == trade["order_id"] and trade["order_id"] in body["action"]["approve_url"]
    assert trade["unit"]["amount"] == {"currency_code": "CNY", "value": f"{payment.amount:.2f}"}

    headers, webhook = platforms.paypal_approval_webhook(payment.reference, settings.PAYPAL_WEBHOOK_ID)
    content_type = headers.pop("Content-Type")
    for _ in range(2):  # PayPal resends the approval: one capture, one confirmation
        response = client.post(
            "/api/v1/payments/callbacks/paypal/", webhook, content_type=content_type, headers=headers
        )
        assert response.status_code == 200, response.content
    payment.refresh_from_db()
    assert (payment.status, payment.gateway_txn_id) == ("paid", trade["capture_id"])
    assert Order.objects.get(number=order["number"]).status == "confirmed"
    assert len([k for k in platforms.paypal_request_ids if k.startswith("capture-")]) == 1

    refund = payment_refund(payment=payment, amount=Decimal("20.00"), user=UserFactory(group="Finance"))
    [sent] = platforms.refunds
    assert (sent["capture_id"], sent["amount"]) == (trade["capture_id"], {"value": "20.00", "currency_code": "CNY"})
    assert refund.gateway_refund_id and platforms.paypal_tokens_issued == 1  # one OAuth token for every call


@pytest.mark.django_db
def test_live_paypal_capture_webhooks_are_believed_only_as_paypal_confirms_them(
    api, client, order, place, platforms, settings
):
    payment, _body = start(api, order["number"], "paypal")
    victim, _ = start(
        api, place(order_body(customer={**order_body()["customer"], "id": "v"})).json()["number"], "paypal"
    )
    headers, webhook = platforms.paypal_approval_webhook(payment.reference, settings.PAYPAL_WEBHOOK_ID)
    post = partial(client.post, "/api/v1/payments/callbacks/paypal/", content_type="application/json")
    assert post(webhook, headers=headers).status_code == 200
    headers, completed = platforms.paypal_capture_webhook(payment.reference, settings.PAYPAL_WEBHOOK_ID)
    assert post(completed, headers=headers).status_code == 200  # confirmed by GET capture: a harmless repeat
    twin = reaimed({"body": completed.decode()}, victim.reference, f"{victim.amount:.2f}")["body"]
    response = post(twin.encode(), headers=headers)
    assert response.status_code == 400
    assert Payment.objects.get(pk=victim.pk).status == "pending"
    assert Order.objects.get(pk=victim.order_id).status == "pending"
    assert any("/v2/payments/captures/" in path for path, _ in platforms.received)

    payment.refresh_from_db()
    refund = payment_refund(payment=payment, amount=Decimal("20.00"), user=UserFactory())
    paypal_refund = platforms.paypal_refunds[refund.gateway_refund_id]
    assert paypal_refund["invoice_id"] == refund.number  # our number is PayPal's idempotency key
    notice = {**paypal_refund, "capture_id": payment.gateway_txn_id}
    headers, refunded = platforms.paypal_webhook(
        "PAYMENT.CAPTURE.REFUNDED", "refund", notice, settings.PAYPAL_WEBHOOK_ID
    )
    assert post(refunded, headers=headers).status_code == 200
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("20.00") and payment.refunds.count() == 1  # counted once


@pytest.mark.django_db
def test_paypal_approval_whose_webhook_was_lost_is_captured_by_the_stale_query(api, order, platforms, settings):
    payment, _body = start(api, order["number"], "paypal")
    assert query_later(payment) == 0  # the buyer has not approved yet
    platforms.paypal_approval_webhook(payment.reference, settings.PAYPAL_WEBHOOK_ID)  # ... and it never arrives
    assert query_later(payment) == 1
    payment.refresh_from_db()
    assert payment.status == "paid" and Order.objects.get(number=order["number"]).status == "confirmed"


@pytest.mark.django_db
def test_an_expired_paypal_token_is_renewed(api, order, platforms, settings):
    payment, _body = start(api, order["number"], "paypal")
    platforms.paypal_approval_webhook(payment.reference, settings.PAYPAL_WEBHOOK_ID)
    platforms.paypal_token = None  # PayPal expired our cached token early
    assert query_later(payment) == 1
    assert platforms.paypal_tokens_issued == 2


@pytest.mark.django_db
def test_paypal_refuses_wrong_client_credentials(api, order, platforms, settings):
    settings.PAYPAL_CLIENT_SECRET = "not-our-secret"
    response = api.post(f"/api/v1/orders/{order['number']}/payments/", {"gateway": "paypal"}, format="json")
    assert (response.status_code, response.json()["code"]) == (502, "gateway_error")
    assert "invalid_client" in response.json()["detail"] and not Payment.objects.exists()


@pytest.mark.django_db
def test_stripe_intent_query_and_refund(api, order, platforms, settings):
    payment, body = start(api, order["number"], "stripe")
    trade = platforms.trades[("stripe", payment.reference)]
    assert body["action"]["payment_intent"] == trade["id"] and trade["amount"] == str(int(payment.amount * 100))
    assert query_later(payment) == 0  # requires_payment_method, no failed attempt: nothing to say
    platforms.pay("stripe", payment.reference)
    assert query_later(payment) == 1
    payment.refresh_from_db()
    assert (payment.status, payment.gateway_txn_id) == ("paid", trade["id"])

    refund = payment_refund(payment=payment, amount=Decimal("1.00"), user=UserFactory(group="Finance"))
    [sent] = platforms.refunds
    assert (sent["payment_intent"], sent["amount"]) == (trade["id"], "100") and refund.gateway_refund_id

    settings.STRIPE_SECRET_KEY = "sk_test_revoked"
    with pytest.raises(GatewayUnavailable, match="Invalid API Key"):
        payment_refund(payment=payment, amount=Decimal("1.00"), user=UserFactory(username="f2", group="Finance"))
