"""The sandbox gateways: Alipay, WeChat Pay, Stripe and PayPal as their live adapters speak them, with
sandbox keys, and a ledger of their own standing in for each gateway's API (create, query, refund,
capture). They sign and verify exactly as the real party does; `sandbox_request` makes the notification
the gateway would send. Used by `make run`, the demo and the tests (PAYMENTS_SANDBOX=true)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import uuid
import zlib
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from urllib.parse import urlencode

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from payments.gateways import keys
from payments.gateways.alipay import AlipayGateway, sign_content
from payments.gateways.base import GatewayRefused, Notification, PaymentRequest, SignedRequest, cents
from payments.gateways.paypal import PayPalGateway, resource_id
from payments.gateways.stripe_gateway import StripeGateway
from payments.gateways.wechatpay import WeChatPayGateway

from . import keys as sandbox_keys
from .models import SandboxTransaction

ALIPAY_SANDBOX_URL = "https://openapi-sandbox.dl.alipaydev.com/gateway.do"
WECHATPAY_SANDBOX_SERIAL = "5157F09EFDC096DE15EBE81A47057A72SANDBOX"


def sandbox_txn_id(gateway: str, reference: str) -> str:
    """A stable transaction id per payment, in the gateway's own style."""
    digest = hashlib.sha256(f"{gateway}:{reference}".encode()).hexdigest()
    return {
        "alipay": "2026" + str(int(digest[:16], 16)).zfill(24)[:24],
        "wechatpay": "4200" + str(int(digest[:16], 16)).zfill(24)[:24],
        "stripe": "pi_" + digest[:24],
        "paypal": digest[:17].upper(),
    }.get(gateway, digest[:24])


def sandbox_record(
    *, gateway: str, reference: str, status: str, amount: Decimal, currency: str, order_id: str = ""
) -> str:
    """Remember what the sandbox gateway decided (pending, paid, failed); returns its transaction id.
    `order_id`: the gateway's own id of the payment (PayPal's order), as create() returned it."""
    txn_id = sandbox_txn_id(gateway, reference)
    defaults = {"status": status, "gateway_txn_id": txn_id, "amount": amount, "currency": currency}
    if order_id:
        defaults["order_id"] = order_id
    SandboxTransaction.objects.update_or_create(gateway=gateway, reference=reference, defaults=defaults)
    return txn_id


def sandbox_record_refund(*, gateway: str, reference: str, refund_id: str, amount: Decimal) -> None:
    """The sandbox gateway refunded `amount` of a payment under `refund_id` (once per id, as gateways do)."""
    with transaction.atomic():
        tx = SandboxTransaction.objects.select_for_update().filter(gateway=gateway, reference=reference).first()
        if tx is not None and refund_id not in tx.refunds:
            tx.refunds[refund_id] = str(amount)
            tx.refunded += amount
            tx.save(update_fields=["refunds", "refunded", "updated_at"])


def sandbox_ledger(gateway: str, *, order_id: str = "", txn_id: str = "", refund_id: str = ""):
    """A sandbox payment found as the gateway's API finds it, by the gateway's own id; unknown → refused."""
    rows = SandboxTransaction.objects.filter(gateway=gateway)
    if order_id:
        rows = rows.filter(order_id=order_id)
    elif txn_id:
        rows = rows.filter(gateway_txn_id=txn_id)
    else:
        rows = rows.filter(refunds__has_key=refund_id)
    tx = rows.first() if order_id or txn_id or refund_id else None
    if tx is None:
        raise GatewayRefused(f"{gateway}: no such resource", "RESOURCE_NOT_FOUND")
    return tx


class SandboxLedger:
    """create(), query() and refund() answered from the ledger, as the gateway's API would answer them."""

    name: str

    def create(self, request: PaymentRequest) -> dict:
        """The storefront's next step, as the gateway would give it; the sandbox remembers the payment."""
        action = self.sandbox_action(request)
        sandbox_record(
            gateway=self.name,
            reference=request.reference,
            status="pending",
            amount=request.amount,
            currency=request.currency,
            order_id=action.get("paypal_order_id", ""),
        )
        return action

    def query(self, *, reference: str, action: dict | None = None) -> Notification | None:
        tx = SandboxTransaction.objects.filter(gateway=self.name, reference=reference).first()
        if tx is None or tx.status not in ("paid", "failed"):
            return None
        return Notification(
            reference=reference,
            outcome="success" if tx.status == "paid" else "failure",
            event_type=f"query:{tx.status}",
            gateway_txn_id=tx.gateway_txn_id,
            amount=tx.amount,
            currency=tx.currency,
            definitive=True,
        )

    def refund(
        self, *, reference: str, gateway_txn_id: str, amount: Decimal, currency: str, refund_id: str, total: Decimal
    ) -> str:
        sandbox_record_refund(gateway=self.name, reference=reference, refund_id=refund_id, amount=amount)
        return refund_id


class SandboxAlipay(SandboxLedger, AlipayGateway):
    def _alipay_public_key(self):
        return sandbox_keys.sandbox_private_key("alipay_platform").public_key()

    def _app_private_key(self):
        return sandbox_keys.sandbox_private_key("alipay_app")

    def _gateway_url(self) -> str:
        return ALIPAY_SANDBOX_URL

    def sandbox_request(
        self,
        *,
        reference: str,
        amount: Decimal,
        currency: str,
        outcome: str,
        txn_id: str,
        now: datetime,
        refund_id: str = "",
        refund_amount: Decimal | None = None,
    ) -> SignedRequest:
        local = timezone.localtime(now).strftime("%Y-%m-%d %H:%M:%S")
        params = {
            "notify_time": local,
            "notify_type": "trade_status_sync",
            "notify_id": uuid.uuid4().hex,
            "app_id": settings.ALIPAY_APP_ID,
            "charset": "utf-8",
            "version": "1.0",
            "sign_type": "RSA2",
            "trade_no": txn_id,
            "out_trade_no": reference,
            "total_amount": f"{amount:.2f}",
            "trade_status": {"success": "TRADE_SUCCESS", "failure": "TRADE_CLOSED", "refund": "TRADE_SUCCESS"}[outcome],
            "gmt_payment": local,
            "seller_id": "2088000000000000",
        }
        if currency != "CNY":
            params["trans_currency"] = currency
        if outcome == "refund":
            params.update({"refund_fee": f"{refund_amount:.2f}", "gmt_refund": local, "out_biz_no": refund_id})
        params["sign"] = base64.b64encode(
            keys.rsa_sha256_sign(sandbox_keys.sandbox_private_key("alipay_platform"), sign_content(params))
        ).decode()
        return SignedRequest(
            path="/api/v1/payments/callbacks/alipay/",
            headers={},
            body=urlencode(params),
            content_type="application/x-www-form-urlencoded",
        )

    def sandbox_action(self, request: PaymentRequest) -> dict:
        return AlipayGateway.create(self, request)  # the signed pay URL, made with the sandbox app key


class SandboxWeChatPay(SandboxLedger, WeChatPayGateway):
    def _apiv3_key(self) -> bytes:
        return sandbox_keys.sandbox_secret("wechatpay_apiv3", 32).encode()

    def _platform(self):
        return sandbox_keys.sandbox_private_key("wechatpay_platform").public_key(), WECHATPAY_SANDBOX_SERIAL

    def sandbox_request(
        self, *, reference, amount, currency, outcome, txn_id, now, refund_id="", refund_amount=None
    ) -> SignedRequest:
        if outcome == "refund":
            event_type, original = "REFUND.SUCCESS", "refund"
            data = {
                "mchid": settings.WECHATPAY_MCHID,
                "out_trade_no": reference,
                "transaction_id": txn_id,
                "out_refund_no": refund_id,
                "refund_id": refund_id,
                "refund_status": "SUCCESS",
                "amount": {"total": cents(amount), "refund": cents(refund_amount), "currency": currency},
            }
        else:
            state = "SUCCESS" if outcome == "success" else "CLOSED"
            event_type, original = f"TRANSACTION.{state}", "transaction"
            data = {
                "mchid": settings.WECHATPAY_MCHID,
                "appid": settings.WECHATPAY_APPID,
                "out_trade_no": reference,
                "transaction_id": txn_id,
                "trade_type": "NATIVE",
                "trade_state": state,
                "success_time": now.isoformat(),
                "amount": {"total": cents(amount), "currency": currency},
            }
        nonce = secrets.token_hex(6)
        ciphertext = AESGCM(self._apiv3_key()).encrypt(nonce.encode(), json.dumps(data).encode(), original.encode())
        body = json.dumps(
            {
                "id": str(uuid.uuid4()),
                "create_time": now.isoformat(),
                "resource_type": "encrypt-resource",
                "event_type": event_type,
                "summary": "sandbox",
                "resource": {
                    "original_type": original,
                    "algorithm": "AEAD_AES_256_GCM",
                    "ciphertext": base64.b64encode(ciphertext).decode(),
                    "associated_data": original,
                    "nonce": nonce,
                },
            }
        )
        timestamp, header_nonce = str(int(now.timestamp())), secrets.token_hex(16)
        message = f"{timestamp}\n{header_nonce}\n{body}\n".encode()
        signature = base64.b64encode(
            keys.rsa_sha256_sign(sandbox_keys.sandbox_private_key("wechatpay_platform"), message)
        )
        headers = {
            "Wechatpay-Timestamp": timestamp,
            "Wechatpay-Nonce": header_nonce,
            "Wechatpay-Signature": signature.decode(),
            "Wechatpay-Serial": WECHATPAY_SANDBOX_SERIAL,
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        }
        return SignedRequest(path="/api/v1/payments/callbacks/wechatpay/", headers=headers, body=body)

    def sandbox_action(self, request: PaymentRequest) -> dict:
        code_url = f"weixin://wxpay/bizpayurl?pr={secrets.token_urlsafe(9)}"
        return {"type": "qr_code", "code_url": code_url, "out_trade_no": request.reference}


class SandboxStripe(SandboxLedger, StripeGateway):
    def _secret(self) -> str:
        return "whsec_" + sandbox_keys.sandbox_secret("stripe_webhook", 32)

    def sandbox_request(
        self, *, reference, amount, currency, outcome, txn_id, now, refund_id="", refund_amount=None
    ) -> SignedRequest:
        base = {"amount": cents(amount), "currency": currency.lower(), "metadata": {"reference": reference}}
        if outcome == "refund":
            kind = "charge.refunded"
            obj = {
                "id": "ch_" + secrets.token_hex(12),
                "object": "charge",
                "payment_intent": txn_id,
                "amount_refunded": cents(refund_amount),
                "refunded": refund_amount == amount,
                "refunds": {"data": [{"id": refund_id, "amount": cents(refund_amount)}]},
                **base,
            }
        else:
            kind = "payment_intent.succeeded" if outcome == "success" else "payment_intent.payment_failed"
            obj = {
                "id": txn_id,
                "object": "payment_intent",
                "status": "succeeded" if outcome == "success" else "requires_payment_method",
                **base,
            }
        body = json.dumps(
            {
                "id": "evt_" + secrets.token_hex(12),
                "object": "event",
                "type": kind,
                "created": int(now.timestamp()),
                "data": {"object": obj},
            }
        )
        timestamp = int(now.timestamp())
        signature = hmac.new(self._secret().encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
        return SignedRequest(
            path="/api/v1/payments/callbacks/stripe/",
            headers={"Stripe-Signature": f"t={timestamp},v1={signature}"},
            body=body,
        )

    def sandbox_action(self, request: PaymentRequest) -> dict:
        intent_id = "pi_" + secrets.token_hex(12)
        return {
            "type": "client_secret",
            "payment_intent": intent_id,
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(12)}",
        }


class SandboxPayPal(SandboxLedger, PayPalGateway):
    def _public_key(self):
        return sandbox_keys.sandbox_certificate("paypal_webhook").public_key()

    def capture(self, approved: Notification) -> Notification:
        tx = sandbox_ledger(self.name, order_id=resource_id(approved.gateway_txn_id))
        if tx.status == "pending":
            tx.status = "paid"
            tx.save(update_fields=["status", "updated_at"])
        return self._from_ledger(tx, event_type="capture:COMPLETED")

    def confirm(self, n: Notification) -> Notification:
        if n.outcome == "refund":
            tx = sandbox_ledger(self.name, refund_id=resource_id(n.refund_id))
            return replace(
                n,
                reference=tx.reference,
                refund_amount=Decimal(tx.refunds[n.refund_id]),
                currency=tx.currency,
                gateway_txn_id=tx.gateway_txn_id,
            )
        if n.outcome not in ("success", "failure"):
            return n
        return self._from_ledger(sandbox_ledger(self.name, txn_id=resource_id(n.gateway_txn_id)), n.event_type)

    def _from_ledger(self, tx, event_type: str) -> Notification:
        outcome = {"paid": "success", "failed": "failure"}.get(tx.status, "ignored")
        return Notification(
            reference=tx.reference,
            outcome=outcome,
            event_type=event_type,
            gateway_txn_id=tx.gateway_txn_id,
            amount=tx.amount,
            currency=tx.currency,
        )

    def sandbox_request(
        self, *, reference, amount, currency, outcome, txn_id, now, refund_id="", refund_amount=None
    ) -> SignedRequest:
        if outcome == "refund":
            kind = "PAYMENT.CAPTURE.REFUNDED"
            resource = {
                "id": refund_id,
                "status": "COMPLETED",
                "capture_id": txn_id,
                "custom_id": reference,
                "amount": {"currency_code": currency, "value": f"{refund_amount:.2f}"},
            }
        else:
            kind = "PAYMENT.CAPTURE.COMPLETED" if outcome == "success" else "PAYMENT.CAPTURE.DENIED"
            resource = {
                "id": txn_id,
                "status": "COMPLETED" if outcome == "success" else "DENIED",
                "custom_id": reference,
                "amount": {"currency_code": currency, "value": f"{amount:.2f}"},
            }
        body = json.dumps(
            {
                "id": "WH-" + secrets.token_hex(10).upper(),
                "event_version": "1.0",
                "create_time": now.isoformat(),
                "resource_type": "capture",
                "event_type": kind,
                "resource": resource,
            }
        )
        tid, ttime = str(uuid.uuid4()), now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        message = f"{tid}|{ttime}|{settings.PAYPAL_WEBHOOK_ID}|{zlib.crc32(body.encode())}".encode()
        signature = base64.b64encode(keys.rsa_sha256_sign(sandbox_keys.sandbox_private_key("paypal_webhook"), message))
        headers = {
            "PAYPAL-TRANSMISSION-ID": tid,
            "PAYPAL-TRANSMISSION-TIME": ttime,
            "PAYPAL-TRANSMISSION-SIG": signature.decode(),
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
            "PAYPAL-CERT-URL": "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-sandbox",
        }
        return SignedRequest(path="/api/v1/payments/callbacks/paypal/", headers=headers, body=body)

    def sandbox_action(self, request: PaymentRequest) -> dict:
        order_id = secrets.token_hex(8).upper()
        return {
            "type": "redirect",
            "paypal_order_id": order_id,
            "approve_url": f"https://www.sandbox.paypal.com/checkoutnow?token={order_id}",
        }


SANDBOX_GATEWAYS = {g.name: g for g in (SandboxAlipay(), SandboxWeChatPay(), SandboxStripe(), SandboxPayPal())}
