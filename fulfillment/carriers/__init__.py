"""Carrier adapters behind one small interface (`base.Carrier`): waybills, tracking, signed pushes.

The sandbox carrier is what demo and tests use; SF Express, ZTO and YTO call their open platforms with
endpoints and credentials from settings, and refuse with CarrierNotConfigured until those are set."""

from .base import (
    Address,
    Carrier,
    CarrierError,
    CarrierNotConfigured,
    CarrierSignatureInvalid,
    PushReply,
    TrackingUpdate,
    Waybill,
    WaybillRequest,
)
from .sandbox import SandboxCarrier
from .sf import SFExpress
from .yto import YTOExpress
from .zto import ZTOExpress

CARRIERS: dict[str, Carrier] = {
    "sandbox": SandboxCarrier(),
    "sf": SFExpress(),
    "zto": ZTOExpress(),
    "yto": YTOExpress(),
}


def get_carrier(name: str) -> Carrier | None:
    return CARRIERS.get(name)


__all__ = [
    "CARRIERS",
    "Address",
    "Carrier",
    "CarrierError",
    "CarrierNotConfigured",
    "CarrierSignatureInvalid",
    "PushReply",
    "TrackingUpdate",
    "Waybill",
    "WaybillRequest",
    "get_carrier",
]
