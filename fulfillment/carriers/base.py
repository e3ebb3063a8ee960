"""The one small interface every carrier adapter implements, with its requests, results and errors."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

import requests
from django.utils.translation import gettext_lazy as _

# Chinese carriers report local Beijing time without an offset, whatever the shop's TIME_ZONE is.
CARRIER_TZ = ZoneInfo("Asia/Shanghai")
TIMEOUT_SECONDS = 10


class CarrierError(Exception):
    pass


class CarrierSignatureInvalid(CarrierError):
    pass


class CarrierNotConfigured(CarrierError):
    pass


@dataclass(frozen=True)
class Address:
    name: str
    phone: str
    province: str
    city: str
    street: str
    postal_code: str = ""


@dataclass(frozen=True)
class WaybillRequest:
    reference: str  # ours, unique per shipment: the carrier's order id
    sender: Address
    recipient: Address
    weight_grams: int
    items: tuple[tuple[str, int], ...]  # (name, quantity)


@dataclass(frozen=True)
class Waybill:
    tracking_number: str
    label: str
    estimated_delivery: date | None = None


@dataclass(frozen=True)
class TrackingUpdate:
    tracking_number: str
    carrier_event_id: str
    occurred_at: datetime
    status: str  # in_transit, out_for_delivery, delivered, exception
    location: str = ""
    description: str = ""


@dataclass(frozen=True)
class PushReply:
    """What the carrier expects back once a push is stored; anything else makes it push again."""

    body: str
    content_type: str = "application/json"


class Carrier(Protocol):
    name: str

    def tracking_url(self, tracking_number: str) -> str: ...

    def create_waybill(self, request: WaybillRequest) -> Waybill: ...

    def get_tracking(self, *, tracking_number: str, shipped_at: datetime, now: datetime) -> list[TrackingUpdate]: ...

    def parse_push(self, *, headers: dict[str, str], body: bytes) -> list[TrackingUpdate]: ...

    def push_reply(self, stored: int) -> PushReply: ...


def md5_base64(text: str) -> str:
    """base64(md5(text)): the digest SF, ZTO and YTO all build their signatures from."""
    return base64.b64encode(hashlib.md5(text.encode()).digest()).decode()


def event_id(tracking_number: str, occurred_at: datetime, status: str) -> str:
    """Pushes and polls describe the same scan differently; keyed by what both agree on, it is stored once."""
    return f"{tracking_number}:{occurred_at.astimezone(CARRIER_TZ):%Y%m%d%H%M%S}:{status}"


def local_time(text: str) -> datetime:
    return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=CARRIER_TZ)


def compact_json(data) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def post(url: str, **kwargs) -> requests.Response:
    """One outbound call; network trouble becomes a CarrierError the caller already handles."""
    try:
        response = requests.post(url, timeout=TIMEOUT_SECONDS, **kwargs)
        response.raise_for_status()
    except requests.RequestException as exc:
        raise CarrierError(_("The carrier could not be reached: %(error)s") % {"error": exc}) from exc
    return response


def require(name: str, **values: str) -> None:
    missing = [key for key, value in values.items() if not value]
    if missing:
        raise CarrierNotConfigured(
            _("%(carrier)s is not configured: set %(settings)s") % {"carrier": name, "settings": ", ".join(missing)}
        )


def require_addresses(request: WaybillRequest) -> None:
    """Carriers refuse e-waybills without a full sender and recipient; say so before asking them."""
    for who, address in ((_("sender (the warehouse)"), request.sender), (_("recipient"), request.recipient)):
        if not (address.name and address.phone and address.city and address.street):
            raise CarrierError(
                _("The %(who)s address is incomplete: name, phone, city and street are needed.") % {"who": who}
            )


def refused(carrier: str, detail: str) -> CarrierError:
    """The carrier answered, and said no (staff read this on the Ship form)."""
    return CarrierError(_("%(carrier)s refused the request: %(detail)s") % {"carrier": carrier, "detail": detail})


def unreadable(carrier: str, error: Exception) -> CarrierError:
    return CarrierError(
        _("%(carrier)s answered with something unreadable: %(error)s") % {"carrier": carrier, "error": error}
    )


def no_waybill(carrier: str, reference: str) -> CarrierError:
    return CarrierError(
        _("%(carrier)s gave no waybill number for %(reference)s") % {"carrier": carrier, "reference": reference}
    )


def waybill_label(carrier: str, number: str, request: WaybillRequest, route_code: str = "") -> str:
    lines = [carrier, f"Waybill {number}"]
    if route_code:
        lines.append(f"Route {route_code}")
    to = request.recipient
    lines += [
        f"Ref {request.reference}",
        f"To: {to.name} {to.phone}",
        f"{to.province} {to.city} {to.street}".strip(),
        f"Weight: {request.weight_grams} g",
    ]
    return "\n".join(lines)
