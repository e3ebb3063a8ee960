"""The one small interface every gateway adapter implements, with its requests, results and errors."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

import requests
from django.http import HttpResponse


class GatewayError(Exception):
    """The gateway refused or could not be reached; `transient` ones are worth retrying."""

    transient = False


class SignatureInvalid(GatewayError):
    pass


class StaleNotification(SignatureInvalid):
    pass


class MalformedNotification(GatewayError):
    pass


class GatewayNotConfigured(GatewayError):
    pass


class GatewayRefused(GatewayError):
    """The gateway answered with an error of its own; `code` is the gateway's."""

    def __init__(self, message: str, code: str = ""):
        super().__init__(message)
        self.code = code


def answer_field(data: dict, key: str, gateway: str):
    """A field the gateway's answer must carry; without it the answer is malformed, not a crash."""
    value = data.get(key) if isinstance(data, dict) else None
    if not value:
        raise MalformedNotification(f"{gateway} answered without {key}")
    return value


def http_call(method: str, url: str, **kwargs) -> requests.Response:
    """One outbound call; network trouble is a transient GatewayError (the caller retries later)."""
    try:
        return requests.request(method, url, timeout=10, **kwargs)
    except requests.RequestException as exc:
        error = GatewayError(f"gateway unreachable: {exc}")
        error.transient = True
        raise error from exc


@dataclass(frozen=True)
class Notification:
    """A verified callback, in our terms. `outcome`: success, failure, refund, or ignored."""

    reference: str
    outcome: str
    event_type: str
    gateway_txn_id: str = ""
    amount: Decimal | None = None
    currency: str = ""
    definitive: bool = True
    refund_id: str = ""
    refund_amount: Decimal | None = None


@dataclass(frozen=True)
class SignedRequest:
    """What a gateway would send us: used by `sandbox_callback`, the demo and the tests."""

    path: str
    headers: dict[str, str]
    body: str
    content_type: str = "application/json"
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class PaymentRequest:
    reference: str
    amount: Decimal
    currency: str
    description: str


class PaymentGateway(Protocol):
    """Every method the payment services call on a gateway, live or sandbox."""

    name: str
    # False where the signature does not cover the whole body (PayPal: only its CRC32); such a gateway is
    # also a ConfirmingGateway.
    signs_whole_body: bool

    def create(self, request: PaymentRequest) -> dict:
        """What the storefront needs next (pay URL, QR code, client secret, approve URL)."""

    def looks_like(self, body: bytes) -> bool:
        """Whether the body has the shape of this gateway's notifications (only those are kept raw)."""

    def parse_callback(self, *, headers: dict[str, str], body: bytes, now: datetime) -> Notification:
        """Verify the gateway's signature and translate its notification; raises GatewayError."""

    def ack(self, *, accepted: bool, message: str = "") -> HttpResponse:
        """The answer in the gateway's own format."""

    def query(self, *, reference: str, action: dict | None = None) -> Notification | None:
        """The gateway's view of a payment (`action`: what create() returned); None while it has nothing
        final to say."""

    def refund(
        self, *, reference: str, gateway_txn_id: str, amount: Decimal, currency: str, refund_id: str, total: Decimal
    ) -> str:
        """Ask the gateway to refund `amount` of a payment of `total`, idempotent by `refund_id`; returns the
        gateway's refund id."""


class ConfirmingGateway(PaymentGateway, Protocol):
    """A gateway whose notifications are believed only as its API confirms them (PayPal)."""

    def transmission_id(self, headers: dict[str, str]) -> str:
        """The notification's own id, refused when seen before with another body."""

    def confirm(self, notification: Notification) -> Notification:
        """The API's view of the capture or refund the notification names."""

    def capture(self, approved: Notification) -> Notification:
        """Take the money of an approved order; idempotent per payment."""


def json_object_with(body: bytes, key: str, kind: type) -> bool:
    """Whether the body is a JSON object whose `key` is a `kind` (the shape of a gateway's notification)."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return False
    return isinstance(data, dict) and isinstance(data.get(key), kind)


def cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def from_cents(value: int) -> Decimal:
    return (Decimal(value) / 100).quantize(Decimal("0.01"))
