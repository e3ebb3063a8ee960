"""Carrier adapters behind one small interface: waybills, tracking, signed pushes.

The sandbox carrier answers from a deterministic script of events over time and signs its pushes with
HMAC-SHA256; demo and tests use it. SF Express, ZTO and YTO know their tracking pages; their live APIs
(waybill, route query, push formats) need contracts and credentials and are not wired yet.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.utils.dateparse import parse_datetime


class CarrierError(Exception):
    pass


class CarrierSignatureInvalid(CarrierError):
    pass


class CarrierNotConfigured(CarrierError):
    pass


@dataclass(frozen=True)
class Waybill:
    tracking_number: str
    label: str
    estimated_delivery: date | None


@dataclass(frozen=True)
class TrackingUpdate:
    tracking_number: str
    carrier_event_id: str
    occurred_at: datetime
    status: str  # in_transit, out_for_delivery, delivered, exception
    location: str = ""
    description: str = ""


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

    def create_waybill(self, *, reference: str, weight_grams: int, city: str) -> Waybill:
        number = "SB" + "".join(secrets.choice("0123456789") for _ in range(12))
        label = f"SANDBOX CARRIER\nWaybill {number}\nRef {reference}\nTo: {city}\nWeight: {weight_grams} g"
        return Waybill(tracking_number=number, label=label, estimated_delivery=None)

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
        if not signature or not hmac.compare_digest(signature, expected):
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

    def sign_push(self, *, tracking_number: str, events: list[dict]) -> tuple[dict[str, str], str]:
        body = json.dumps({"tracking_number": tracking_number, "events": events})
        signature = hmac.new(sandbox_secret(), body.encode(), hashlib.sha256).hexdigest()
        return {"Content-Type": "application/json", "X-Sandbox-Signature": signature}, body


class LiveCarrier:
    """A carrier whose live API is not wired yet: tracking links work, everything else says so."""

    def __init__(self, name: str, url: str):
        self.name, self._url = name, url

    def tracking_url(self, tracking_number: str) -> str:
        return self._url.format(tracking_number)

    def _refuse(self, *args, **kwargs):
        raise CarrierNotConfigured(f"the {self.name} API is not wired yet: enter the tracking number by hand")

    create_waybill = get_tracking = parse_push = _refuse


CARRIERS = {
    "sandbox": SandboxCarrier(),
    "sf": LiveCarrier("sf", "https://www.sf-express.com/chn/sc/waybill/waybill-detail/{}"),
    "zto": LiveCarrier("zto", "https://www.zto.com/?num={}"),
    "yto": LiveCarrier("yto", "https://www.yto.net.cn/?waybillNo={}"),
}


def get_carrier(name: str):
    return CARRIERS.get(name)
