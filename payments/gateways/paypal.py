"""PayPal webhooks: RSA-SHA256 over `transmission_id|transmission_time|webhook_id|crc32(body)`, checked
against a configured certificate (never one fetched from the URL the request names).

That signature covers only a CRC32 of the body, and a rewritten body can be padded to the same CRC32: a
genuine transmission could be re-aimed at another order. So the body's word is never taken: `confirm()`
asks PayPal's API about the capture or refund the webhook names, and the service
refuses a transmission id it has seen with another body."""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from dataclasses import replace
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, JsonResponse
from django.utils.dateparse import parse_datetime

from . import keys
from .base import (
    GatewayNotConfigured,
    GatewayRefused,
    MalformedNotification,
    Notification,
    PaymentRequest,
    SignatureInvalid,
    StaleNotification,
    answer_field,
    http_call,
    json_object_with,
)

RESOURCE_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")


class PayPalGateway:
    name = "paypal"
    signs_whole_body = False

    def transmission_id(self, headers: dict[str, str]) -> str:
        return next((v for k, v in headers.items() if k.lower() == "paypal-transmission-id"), "")

    def _public_key(self):
        return keys.load_public_key(settings.PAYPAL_WEBHOOK_CERT)

    def create(self, request: PaymentRequest) -> dict:
        """A PayPal order; the storefront sends the customer to its approve URL."""
        unit = {
            "custom_id": request.reference,
            "invoice_id": request.reference,
            "description": request.description,
            "amount": {"currency_code": request.currency, "value": f"{request.amount:.2f}"},
        }
        order = {"intent": "CAPTURE", "purchase_units": [unit]}
        if settings.PAYPAL_RETURN_URL:
            order["payment_source"] = {
                "paypal": {
                    "experience_context": {
                        "return_url": settings.PAYPAL_RETURN_URL,
                        "cancel_url": settings.PAYPAL_CANCEL_URL or settings.PAYPAL_RETURN_URL,
                    }
                }
            }
        data = self._api("POST", "/v2/checkout/orders", order, request_id=f"create-{request.reference}")
        approve = next(
            (link["href"] for link in data.get("links", []) if link["rel"] in ("approve", "payer-action")), ""
        )
        return {"type": "redirect", "paypal_order_id": answer_field(data, "id", "PayPal"), "approve_url": approve}

    def capture(self, approved: Notification) -> Notification:
        """The buyer approved the order (CHECKOUT.ORDER.APPROVED): take the money. Idempotent per payment,
        so a resent approval captures once. What counts is PayPal's answer, not the webhook's body."""
        resource_id(approved.gateway_txn_id)
        return self._captured(self._capture(approved.gateway_txn_id, approved.reference), approved.reference)

    def confirm(self, n: Notification) -> Notification:
        """PayPal's own view of the capture or refund a webhook names, in the same terms as parse_callback()."""
        if n.outcome == "refund":
            resource_id(n.refund_id)
            refund = self._api("GET", f"/v2/payments/refunds/{n.refund_id}")
            up = next((link["href"] for link in refund.get("links", []) if link.get("rel") == "up"), "")
            capture = self._api("GET", f"/v2/payments/captures/{resource_id(up.rstrip('/').rsplit('/', 1)[-1])}")
            try:
                return replace(
                    n,
                    reference=refund.get("custom_id") or capture.get("custom_id", ""),
                    refund_amount=Decimal(refund["amount"]["value"]),
                    currency=refund["amount"]["currency_code"],
                    gateway_txn_id=capture.get("id", ""),
                    outcome="refund" if refund.get("status") == "COMPLETED" else "ignored",
                )
            except (KeyError, TypeError, InvalidOperation) as exc:
                raise MalformedNotification(f"bad PayPal refund: {exc}") from exc
        if n.outcome not in ("success", "failure"):
            return n  # events we ignore change nothing
        resource_id(n.gateway_txn_id)
        capture = self._api("GET", f"/v2/payments/captures/{n.gateway_txn_id}")
        order = {"status": capture.get("status", ""), "purchase_units": [{"payments": {"captures": [capture]}}]}
        return replace(self._captured(order, ""), event_type=n.event_type)

    def query(self, *, reference: str, action: dict | None = None) -> Notification | None:
        order_id = (action or {}).get("paypal_order_id")
        if not order_id:
            return None
        data = self._api("GET", f"/v2/checkout/orders/{order_id}")
        if data.get("status") == "APPROVED":  # approved but the webhook never came: capture now
            data = self._capture(order_id, reference)
        if data.get("status") not in ("COMPLETED", "VOIDED"):
            return None
        return self._captured(data, reference)

    def refund(self, *, reference, gateway_txn_id, amount, currency, refund_id, total) -> str:
        data = self._api(
            "POST",
            f"/v2/payments/captures/{gateway_txn_id}/refund",
            {
                "amount": {"value": f"{amount:.2f}", "currency_code": currency},
                "invoice_id": refund_id,
                "custom_id": reference,
            },
            request_id=refund_id,
        )
        return answer_field(data, "id", "PayPal")

    def _capture(self, order_id: str, reference: str) -> dict:
        """One capture per payment, whoever asks first: PayPal answers a repeated request id with the first
        capture."""
        return self._api("POST", f"/v2/checkout/orders/{order_id}/capture", {}, request_id=f"capture-{reference}")

    def _captured(self, order: dict, reference: str) -> Notification:
        try:
            unit = order["purchase_units"][0]
            captures = (unit.get("payments") or {}).get("captures") or []
            capture = captures[0] if captures else {}
            amount = capture.get("amount") or unit.get("amount") or {}
            common = {
                "reference": capture.get("custom_id") or unit.get("custom_id") or reference,
                "gateway_txn_id": capture.get("id", ""),
                "amount": Decimal(amount["value"]),
                "currency": amount["currency_code"],
            }
        except (KeyError, IndexError, TypeError, InvalidOperation) as exc:
            raise MalformedNotification(f"bad PayPal order: {exc}") from exc
        status = capture.get("status") or order.get("status", "")
        if status == "COMPLETED":
            return Notification(outcome="success", event_type="capture:COMPLETED", **common)
        if status in ("DECLINED", "FAILED", "VOIDED"):
            return Notification(outcome="failure", definitive=True, event_type=f"capture:{status}", **common)
        return Notification(outcome="ignored", event_type=f"capture:{status}", **common)  # PENDING review

    def _api(self, method: str, path: str, payload: dict | None = None, request_id: str = "") -> dict:
        """A call to PayPal's REST API with an OAuth token (cached until it expires); PayPal-Request-Id
        makes retried writes idempotent."""
        headers = {"Content-Type": "application/json", "Prefer": "return=representation"}
        if request_id:
            headers["PayPal-Request-Id"] = request_id
        url = settings.PAYPAL_API_URL.rstrip("/") + path
        for attempt in range(2):
            headers["Authorization"] = f"Bearer {self._token(fresh=attempt > 0)}"
            response = http_call(method, url, json=payload, headers=headers)
            if response.status_code != 401:
                break
        try:
            data = response.json() if response.content else {}
        except ValueError as exc:
            raise MalformedNotification(f"PayPal answered {path} with something unreadable") from exc
        if response.status_code >= 400:
            issue = ((data.get("details") or [{}])[0]).get("issue") or data.get("name", "")
            error = GatewayRefused(f"PayPal {issue}: {data.get('message', '')}", issue)
            error.transient = response.status_code >= 500
            raise error
        return data

    def _token(self, *, fresh: bool = False) -> str:
        if not (settings.PAYPAL_CLIENT_ID and settings.PAYPAL_CLIENT_SECRET):
            raise GatewayNotConfigured("live PayPal needs PAYPAL_CLIENT_ID and PAYPAL_CLIENT_SECRET")
        key = f"paypal:token:{settings.PAYPAL_CLIENT_ID}"
        token = None if fresh else cache.get(key)
        if token is None:
            response = http_call(
                "POST",
                settings.PAYPAL_API_URL.rstrip("/") + "/v1/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=(settings.PAYPAL_CLIENT_ID, settings.PAYPAL_CLIENT_SECRET),
            )
            try:
                data = response.json()
            except ValueError:
                data = {}
            if response.status_code != 200:
                error = data.get("error", "invalid_client")
                raise GatewayRefused(f"PayPal refused our credentials: {error} ({response.status_code})", error)
            token = answer_field(data, "access_token", "PayPal")
            cache.set(key, token, max(int(data.get("expires_in", 0)) - 60, 60))
        return token

    def looks_like(self, body: bytes) -> bool:
        return json_object_with(body, "resource", dict)

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
            if kind == "CHECKOUT.ORDER.APPROVED":
                unit = resource["purchase_units"][0]
                resource = {**resource, "custom_id": unit.get("custom_id", ""), "amount": unit["amount"]}
            common = {
                "reference": _text(resource, "custom_id"),
                "event_type": kind,
                "amount": Decimal(resource["amount"]["value"]),
                "currency": resource["amount"]["currency_code"],
            }
        except (ValueError, KeyError, IndexError, TypeError, InvalidOperation) as exc:
            raise MalformedNotification(f"bad event: {exc}") from exc
        if kind == "CHECKOUT.ORDER.APPROVED":  # the resource is the order: capture it (services call capture())
            return Notification(outcome="approved", gateway_txn_id=_text(resource, "id"), **common)
        if kind == "PAYMENT.CAPTURE.COMPLETED":
            return Notification(outcome="success", gateway_txn_id=_text(resource, "id"), **common)
        if kind == "PAYMENT.CAPTURE.DENIED":
            return Notification(outcome="failure", definitive=True, gateway_txn_id=_text(resource, "id"), **common)
        if kind == "PAYMENT.CAPTURE.REFUNDED":
            return Notification(
                outcome="refund",
                refund_id=_text(resource, "id"),
                refund_amount=common.pop("amount"),
                gateway_txn_id=_text(resource, "capture_id"),
                **common,
            )
        return Notification(outcome="ignored", **common)

    def ack(self, *, accepted: bool, message: str = "") -> HttpResponse:
        if accepted:
            return JsonResponse({}, status=200)
        return JsonResponse({"code": "rejected", "detail": message or "rejected"}, status=400)


def _text(resource: dict, key: str) -> str:
    """A string field of a webhook's resource; anything else (null, a number, an object) counts as absent."""
    value = resource.get(key)
    return value if isinstance(value, str) else ""


def resource_id(value: str) -> str:
    """A PayPal id from a webhook goes into an API path: letters, digits and dashes only."""
    if not RESOURCE_ID.match(value or ""):
        raise MalformedNotification("PayPal resource id missing or malformed")
    return value
