"""The sandbox carrier: a deterministic script of events over time and HMAC-SHA256 signed pushes.

Demo and tests use it; it needs no network and no credentials."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.utils.crypto import constant_time_compare
from django.utils.dateparse import parse_datetime

from .base import (
    CarrierError,
    CarrierSignatureInvalid,
    PushReply,
    TrackingUpdate,
    Waybill,
    WaybillRequest,
    waybill_label,
)


def sandbox_secret() -> bytes:
    return hmac.new(settings.SECRET_KEY.encode(), b"sandbox-carrier-push", hashlib.sha256).hexdigest().encode()


# (hours after shipping, status, location, description): what the sandbox carrier reports, in order.
SANDBOX_SCRIPT = [
    (2, "in_transit", "Shanghai", "Picked up by courier"),
    (20, "in_transit", "Hangzhou hub", "Arrived at sorting hub"),
    (40, "out_for_delivery", "Destination city", "Out for delivery"),
    (48, "delivered", "Destination city", "Delivered, signed by the customer"),
]


class SandboxCarrier:
    name = "sandbox"

    def tracking_url(self, tracking_number: str) -> str:
        return f"https://track.sandbox-carrier.test/{tracking_number}"

    def create_waybill(self, request: WaybillRequest) -> Waybill:
        number = "SB" + "".join(secrets.choice("0123456789") for _ in range(12))
        return Waybill(tracking_number=number, label=waybill_label("SANDBOX CARRIER", number, request))

    def get_tracking(self, *, tracking_number: str, shipped_at: datetime, now: datetime) -> list[TrackingUpdate]:
        updates = []
        for i, (hours, status, location, description) in enumerate(SANDBOX_SCRIPT):
            at = shipped_at + timedelta(hours=hours)
            if at <= now:
                updates.append(
                    TrackingUpdate(tracking_number, f"{tracking_number}-{i}", at, status, location, description)
                )
        return updates

    def parse_push(self, *, headers: dict[str, str], body: bytes) -> list[TrackingUpdate]:
        signature = {k.lower(): v for k, v in headers.items()}.get("x-sandbox-signature", "")
        expected = hmac.new(sandbox_secret(), body, hashlib.sha256).hexdigest()
        if not signature or not constant_time_compare(signature, expected):
            raise CarrierSignatureInvalid("bad or missing X-Sandbox-Signature")
        try:
            data = json.loads(body)
            return [
                TrackingUpdate(
                    data["tracking_number"],
                    e["id"],
                    parse_datetime(e["time"]),
                    e["status"],
                    e.get("location", ""),
                    e.get("description", ""),
                )
                for e in data["events"]
            ]
        except (ValueError, KeyError, TypeError) as exc:
            raise CarrierError(f"malformed push: {exc}") from exc

    def push_reply(self, stored: int) -> PushReply:
        return PushReply(json.dumps({"stored": stored}))

    def sign_push(self, *, tracking_number: str, events: list[dict]) -> tuple[dict[str, str], str]:
        body = json.dumps({"tracking_number": tracking_number, "events": events})
        signature = hmac.new(sandbox_secret(), body.encode(), hashlib.sha256).hexdigest()
        return {"Content-Type": "application/json", "X-Sandbox-Signature": signature}, body
