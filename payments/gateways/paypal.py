"""PayPal webhooks: RSA-SHA256 over `transmission_id|transmission_time|webhook_id|crc32(body)`, checked
against a configured certificate (never one fetched from the URL the request names)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import secrets
import uuid
import zlib
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils.dateparse import parse_datetime

from . import keys
from .base import (
    GatewayNotConfigured,
    MalformedNotification,
    Notification,
    PaymentRequest,
    SignatureInvalid,
    SignedRequest,
    StaleNotification,
)
from .sandbox import SandboxLedgerMixin


class PayPalGateway(SandboxLedgerMixin):
    name = "paypal"

    def _public_key(self):
        if self.sandbox:
            return keys.sandbox_certificate("paypal_webhook").public_key()
        return keys.load_public_key(settings.PAYPAL_WEBHOOK_CERT)

    def create(self, request: PaymentRequest) -> dict:
        """A PayPal order; the storefront sends the customer to its approve URL."""
        if not self.sandbox:
            raise GatewayNotConfigured("live PayPal ordering (POST /v2/checkout/orders) is not wired yet")
        order_id = secrets.token_hex(8).upper()
        return {
            "type": "redirect",
            "paypal_order_id": order_id,
            "approve_url": f"https://www.sandbox.paypal.com/checkoutnow?token={order_id}",
        }

    def parse_callback(self, *, headers: dict[str, str], body: bytes, now: datetime) -> Notification:
        h = {k.lower(): v for k, v in headers.items()}
        tid, ttime = h.get("paypal-transmission-id", ""), h.get("paypal-transmission-time", "")
        sig, algo = h.get("paypal-transmission-sig", ""), h.get("paypal-auth-algo", "")
        if not (tid and ttime and sig):
            raise SignatureInvalid("missing PayPal transmission headers")
        if algo and algo != "SHA256withRSA":
            raise SignatureInvalid("unsupported auth algorithm")
        message = f"{tid}|{ttime}|{settings.PAYPAL_WEBHOOK_ID}|{zlib.crc32(body)}".encode()
        try:
            signature = base64.b64decode(sig, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SignatureInvalid("signature is not base64") from exc
        if not keys.rsa_sha256_verify(self._public_key(), signature, message):
            raise SignatureInvalid("transmission signature does not verify")
        sent = parse_datetime(ttime)
        if sent is None or abs((now - sent).total_seconds()) > settings.PAYMENTS_CALLBACK_TOLERANCE_SECONDS:
            raise StaleNotification("transmission time outside the tolerance")
        try:
            event = json.loads(body)
            kind = event["event_type"]
            resource = event["resource"]
            common = {
                "reference": resource.get("custom_id", ""),
                "event_type": kind,
                "amount": Decimal(resource["amount"]["value"]),
                "currency": resource["amount"]["currency_code"],
            }
        except (ValueError, KeyError, TypeError, InvalidOperation) as exc:
            raise MalformedNotification(f"bad event: {exc}") from exc
        if kind == "PAYMENT.CAPTURE.COMPLETED":
            return Notification(outcome="success", gateway_txn_id=resource.get("id", ""), **common)
        if kind == "PAYMENT.CAPTURE.DENIED":
            return Notification(outcome="failure", definitive=True, gateway_txn_id=resource.get("id", ""), **common)
        if kind == "PAYMENT.CAPTURE.REFUNDED":
            return Notification(
                outcome="refund",
                refund_id=resource.get("id", ""),
                refund_amount=common.pop("amount"),
                gateway_txn_id=resource.get("capture_id", ""),
                **common,
            )
        return Notification(outcome="ignored", **common)

    def ack(self, *, accepted: bool, message: str = "") -> HttpResponse:
        if accepted:
            return JsonResponse({}, status=200)
        return JsonResponse({"code": "rejected", "detail": message or "rejected"}, status=400)

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
        signature = base64.b64encode(keys.rsa_sha256_sign(keys.sandbox_private_key("paypal_webhook"), message))
        headers = {
            "PAYPAL-TRANSMISSION-ID": tid,
            "PAYPAL-TRANSMISSION-TIME": ttime,
            "PAYPAL-TRANSMISSION-SIG": signature.decode(),
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
            "PAYPAL-CERT-URL": "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-sandbox",
        }
        return SignedRequest(path="/api/v1/payments/callbacks/paypal/", headers=headers, body=body)
