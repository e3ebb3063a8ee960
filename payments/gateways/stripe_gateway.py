"""Stripe: events signed `Stripe-Signature: t=…,v1=HMAC-SHA256(secret, "t.payload")`, verified with the
official `stripe` package; the 5-minute tolerance is checked against the receive time."""

from __future__ import annotations

import json
from datetime import datetime

import stripe
from django.conf import settings
from django.http import HttpResponse, JsonResponse

from .base import (
    GatewayNotConfigured,
    GatewayRefused,
    MalformedNotification,
    Notification,
    PaymentRequest,
    SignatureInvalid,
    StaleNotification,
    cents,
    from_cents,
    json_object_with,
)


class StripeGateway:
    name = "stripe"
    signs_whole_body = True

    def _secret(self) -> str:
        return settings.STRIPE_WEBHOOK_SECRET

    def create(self, request: PaymentRequest) -> dict:
        """A PaymentIntent; the storefront confirms it with Stripe.js using the client secret."""
        intent = self._call(
            lambda client: client.v1.payment_intents.create(
                {
                    "amount": cents(request.amount),
                    "currency": request.currency.lower(),
                    "description": request.description,
                    "metadata": {"reference": request.reference},
                },
                {"idempotency_key": f"create-{request.reference}"},
            )
        )
        return {"type": "client_secret", "payment_intent": intent.id, "client_secret": intent.client_secret}

    def query(self, *, reference: str, action: dict | None = None) -> Notification | None:
        intent_id = (action or {}).get("payment_intent")
        if not intent_id:
            return None
        intent = self._call(lambda client: client.v1.payment_intents.retrieve(intent_id)).to_dict()
        status = intent["status"]
        common = {
            "reference": (intent.get("metadata") or {}).get("reference", reference),
            "event_type": f"query:{status}",
            "gateway_txn_id": intent["id"],
            "amount": from_cents(intent["amount"]),
            "currency": intent["currency"].upper(),
        }
        if status == "succeeded":
            return Notification(outcome="success", **common)
        if status == "canceled":
            return Notification(outcome="failure", definitive=True, **common)
        if status == "requires_payment_method" and intent.get("last_payment_error"):
            return Notification(outcome="failure", definitive=False, **common)  # the customer may retry
        return None

    def refund(self, *, reference, gateway_txn_id, amount, currency, refund_id, total) -> str:
        refund = self._call(
            lambda client: client.v1.refunds.create(
                {"payment_intent": gateway_txn_id, "amount": cents(amount)}, {"idempotency_key": refund_id}
            )
        )
        return refund.id

    def _call(self, request):
        """One call through the official client; Stripe's errors become ours (network trouble is transient)."""
        if not settings.STRIPE_SECRET_KEY:
            raise GatewayNotConfigured("live Stripe needs STRIPE_SECRET_KEY")
        client = stripe.StripeClient(settings.STRIPE_SECRET_KEY, base_addresses={"api": settings.STRIPE_API_URL})
        try:
            return request(client)
        except stripe.StripeError as exc:
            error = GatewayRefused(f"Stripe: {exc.user_message or exc}", exc.code or "")
            error.transient = isinstance(exc, stripe.APIConnectionError) or (exc.http_status or 0) >= 500
            raise error from exc

    def looks_like(self, body: bytes) -> bool:
        return json_object_with(body, "data", dict)

    def parse_callback(self, *, headers: dict[str, str], body: bytes, now: datetime) -> Notification:
        header = {k.lower(): v for k, v in headers.items()}.get("stripe-signature", "")
        if not header.isascii():
            raise SignatureInvalid("Stripe-Signature is not ASCII")
        try:
            stripe.WebhookSignature.verify_header(body, header, self._secret(), tolerance=None)
        except stripe.SignatureVerificationError as exc:
            raise SignatureInvalid(str(exc).split(".")[0]) from exc
        timestamp = int(dict(p.split("=", 1) for p in header.split(",") if "=" in p)["t"])
        if abs(now.timestamp() - timestamp) > settings.PAYMENTS_CALLBACK_TOLERANCE_SECONDS:
            raise StaleNotification("timestamp outside the tolerance")
        try:
            event = json.loads(body)
            kind = event["type"]
            obj = event["data"]["object"]
            reference = (obj.get("metadata") or {}).get("reference", "")
            common = {
                "reference": reference,
                "event_type": kind,
                "currency": obj["currency"].upper(),
                "amount": from_cents(obj["amount"]),
            }
            if kind == "payment_intent.succeeded":
                return Notification(outcome="success", gateway_txn_id=obj["id"], **common)
            if kind == "payment_intent.payment_failed":
                # The customer may retry the same intent with another card: not definitive.
                return Notification(outcome="failure", definitive=False, gateway_txn_id=obj["id"], **common)
            if kind == "charge.refunded":
                latest = ((obj.get("refunds") or {}).get("data") or [{}])[0]
                return Notification(
                    outcome="refund",
                    gateway_txn_id=obj.get("payment_intent") or obj["id"],
                    refund_id=latest.get("id") or event["id"],
                    refund_amount=from_cents(latest.get("amount", obj["amount_refunded"])),
                    **common,
                )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise MalformedNotification(f"bad event: {exc}") from exc
        return Notification(outcome="ignored", **common)

    def ack(self, *, accepted: bool, message: str = "") -> HttpResponse:
        if accepted:
            return JsonResponse({"received": True})
        return JsonResponse({"code": "rejected", "detail": message or "rejected"}, status=400)
