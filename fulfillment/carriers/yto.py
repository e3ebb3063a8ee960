"""YTO Express (圆通) through its open platform.

Requests are JSON {timestamp, param, sign, format} posted to /open/{method}/v1/{app key}/{customer code}, with
sign = base64(md5(param + method + "v1" + secret)). Track pushes are form posts of an XML UpdateInfo in
logistics_interface with data_digest = base64(md5(logistics_interface + secret)). Times are Beijing time."""

from __future__ import annotations

import time
from datetime import datetime
from urllib.parse import parse_qs
from xml.etree import ElementTree

from django.conf import settings
from django.utils.crypto import constant_time_compare

from .base import (
    CarrierError,
    CarrierSignatureInvalid,
    PushReply,
    TrackingUpdate,
    Waybill,
    WaybillRequest,
    compact_json,
    event_id,
    local_time,
    md5_base64,
    no_waybill,
    post,
    refused,
    require,
    require_addresses,
    unreadable,
    waybill_label,
)

VERSION = "v1"
# infoContent codes that mean more than "moving": everything else is in transit.
INFO_CONTENT = {
    "SENT_SCAN": "out_for_delivery",
    "INBOUND": "out_for_delivery",  # at a parcel locker or pick-up point
    "SIGNED": "delivered",
    "FAILED": "exception",
    "NOT_SEND": "exception",
    "TMS_RETURN": "exception",
}


def yto_sign(param: str, method: str, secret: str) -> str:
    return md5_base64(param + method + VERSION + secret)


class YTOExpress:
    name = "yto"

    def tracking_url(self, tracking_number: str) -> str:
        return f"https://www.yto.net.cn/?waybillNo={tracking_number}"

    def _call(self, method: str, param: dict):
        require(
            "YTO Express",
            YTO_APP_KEY=settings.YTO_APP_KEY,
            YTO_CUSTOMER_CODE=settings.YTO_CUSTOMER_CODE,
            YTO_SECRET=settings.YTO_SECRET,
        )
        param_json = compact_json(param)
        response = post(
            f"{settings.YTO_API_URL.rstrip('/')}/open/{method}/{VERSION}/{settings.YTO_APP_KEY}/{settings.YTO_CUSTOMER_CODE}",
            json={
                "timestamp": str(int(time.time() * 1000)),
                "param": param_json,
                "sign": yto_sign(param_json, method, settings.YTO_SECRET),
                "format": "JSON",
            },
        )
        try:
            data = response.json()
        except ValueError as exc:
            raise unreadable("YTO Express", exc) from exc
        if isinstance(data, dict) and data.get("success") is False:
            raise refused("YTO Express", f"{data.get('code')} {data.get('message') or data.get('reason')}")
        return data

    def create_waybill(self, request: WaybillRequest) -> Waybill:
        require_addresses(request)
        sender, to = request.sender, request.recipient
        data = self._call(
            "privacy_create_adapter",
            {
                "logisticsNo": request.reference,
                "senderName": sender.name,
                "senderMobile": sender.phone,
                "senderProvinceName": sender.province,
                "senderCityName": sender.city,
                "senderAddress": sender.street,
                "recipientName": to.name,
                "recipientMobile": to.phone,
                "recipientProvinceName": to.province,
                "recipientCityName": to.city,
                "recipientAddress": to.street,
                "weight": round(request.weight_grams / 1000, 3),
                "goods": [{"name": name, "quantity": quantity} for name, quantity in request.items],
                "productCode": "PK",
            },
        )
        number = data.get("mailNo") if isinstance(data, dict) else None
        if not number:
            raise no_waybill("YTO Express", request.reference)
        return Waybill(number, waybill_label("YTO EXPRESS 圆通速递", number, request, data.get("shortAddress", "")))

    def get_tracking(self, *, tracking_number: str, shipped_at: datetime, now: datetime) -> list[TrackingUpdate]:
        data = self._call("track_query_adapter", {"NUMBER": tracking_number})
        if isinstance(data, dict):  # {"code": "1001", "message": "查询结果为空。"}: nothing scanned yet
            return []
        try:
            return [
                _update(
                    step.get("waybill_No") or tracking_number,
                    step.get("infoContent", ""),
                    local_time(step["upload_Time"]),
                    step.get("city") or "",
                    step.get("processInfo") or "",
                )
                for step in data
            ]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise unreadable("YTO Express", exc) from exc

    def parse_push(self, *, headers: dict[str, str], body: bytes) -> list[TrackingUpdate]:
        require("YTO Express", YTO_SECRET=settings.YTO_SECRET)
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        xml, digest = form.get("logistics_interface", ""), form.get("data_digest", "")
        if not digest or not constant_time_compare(digest, md5_base64(xml + settings.YTO_SECRET)):
            raise CarrierSignatureInvalid("bad or missing data_digest")
        try:  # parsed only once YTO's digest vouches for it
            info = ElementTree.fromstring(xml)
            number = info.findtext("mailNo") or ""
            if not number:
                raise ValueError("no mailNo")
            return [
                _update(
                    number,
                    info.findtext("infoContent") or "",
                    local_time(info.findtext("acceptTime") or ""),
                    info.findtext("city") or info.findtext("acceptAddress") or "",
                    info.findtext("remark") or "",
                )
            ]
        except (ValueError, ElementTree.ParseError) as exc:
            raise CarrierError(f"malformed push: {exc}") from exc

    def push_reply(self, stored: int) -> PushReply:
        return PushReply(
            "<Response><logisticProviderID>YTO</logisticProviderID><success>true</success></Response>",
            "application/xml",
        )


def _update(number: str, code: str, at: datetime, location: str, description: str) -> TrackingUpdate:
    status = INFO_CONTENT.get(code, "in_transit")
    return TrackingUpdate(number, event_id(number, at, status), at, status, location, description)
