"""ZTO Express (中通) through its open platform (ZOP).

Requests are JSON with headers x-appKey and x-dataDigest = base64(md5(body + appSecret)); track pushes are
form posts (company_id, msg_type, data, data_digest = base64(md5(data + appSecret))). Times are Beijing time."""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import parse_qs

from django.conf import settings
from django.utils.crypto import constant_time_compare

from .base import (
    CARRIER_TZ,
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

# Push actions and query scan types that mean more than "moving": everything else is in transit.
ACTIONS = {
    "DISPATCH": "out_for_delivery",
    "INBOUND": "out_for_delivery",  # at a parcel locker or pick-up point
    "SIGNED": "delivered",
    "DEPARTURE_SIGNED": "delivered",
    "HANDOVERSCAN_SIGNED": "delivered",
    "PROBLEM": "exception",
    "RETURN_SCAN": "exception",
    "RETURN_SIGNED": "exception",
    "派件": "out_for_delivery",
    "签收": "delivered",
    "第三方签收": "delivered",
    "问题件": "exception",
    "退件": "exception",
}


class ZTOExpress:
    name = "zto"

    def tracking_url(self, tracking_number: str) -> str:
        return f"https://www.zto.com/?num={tracking_number}"

    def _call(self, api: str, payload: dict):
        require("ZTO Express", ZTO_APP_KEY=settings.ZTO_APP_KEY, ZTO_APP_SECRET=settings.ZTO_APP_SECRET)
        body = compact_json(payload)
        response = post(
            f"{settings.ZTO_API_URL.rstrip('/')}/{api}",
            data=body.encode(),
            headers={
                "Content-Type": "application/json; charset=UTF-8",
                "x-appKey": settings.ZTO_APP_KEY,
                "x-dataDigest": md5_base64(body + settings.ZTO_APP_SECRET),
            },
        )
        try:
            data = response.json()
            ok = data.get("status")
        except (ValueError, AttributeError) as exc:
            raise unreadable("ZTO Express", exc) from exc
        if not ok:
            raise refused("ZTO Express", f"{data.get('statusCode')} {data.get('message')}")
        return data.get("result")

    def create_waybill(self, request: WaybillRequest) -> Waybill:
        require_addresses(request)
        require(
            "ZTO Express",
            ZTO_APP_KEY=settings.ZTO_APP_KEY,
            ZTO_APP_SECRET=settings.ZTO_APP_SECRET,
            ZTO_ACCOUNT_ID=settings.ZTO_ACCOUNT_ID,
        )
        sender, to = request.sender, request.recipient
        result = (
            self._call(
                "zto.open.createOrder",
                {
                    "partnerType": "2",  # e-waybill account
                    "orderType": "1",
                    "partnerOrderCode": request.reference,
                    "accountInfo": {
                        "accountId": settings.ZTO_ACCOUNT_ID,
                        "accountPassword": settings.ZTO_ACCOUNT_PASSWORD,
                        "type": 1,
                    },
                    "senderInfo": {
                        "senderName": sender.name,
                        "senderMobile": sender.phone,
                        "senderProvince": sender.province,
                        "senderCity": sender.city,
                        "senderAddress": sender.street,
                    },
                    "receiveInfo": {
                        "receiverName": to.name,
                        "receiverMobile": to.phone,
                        "receiverProvince": to.province,
                        "receiverCity": to.city,
                        "receiverAddress": to.street,
                    },
                    "orderItems": [{"name": name, "quantity": quantity} for name, quantity in request.items],
                    "summaryInfo": {"quantity": 1},
                },
            )
            or {}
        )
        number = result.get("billCode") if isinstance(result, dict) else None
        if not number:
            raise no_waybill("ZTO Express", request.reference)
        mark = (result.get("bigMarkInfo") or {}).get("mark", "")
        return Waybill(number, waybill_label("ZTO EXPRESS 中通快递", number, request, mark))

    def get_tracking(self, *, tracking_number: str, shipped_at: datetime, now: datetime) -> list[TrackingUpdate]:
        scans = self._call("zto.merchant.waybill.track.query", {"billCode": tracking_number}) or []
        try:
            return [
                _update(
                    scan.get("billCode") or tracking_number,
                    scan.get("scanType", ""),
                    _scan_time(scan["scanDate"]),
                    (scan.get("scanSite") or {}).get("city") or scan.get("scanCity") or "",
                    scan.get("desc") or "",
                )
                for scan in scans
            ]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise unreadable("ZTO Express", exc) from exc

    def parse_push(self, *, headers: dict[str, str], body: bytes) -> list[TrackingUpdate]:
        require("ZTO Express", ZTO_APP_KEY=settings.ZTO_APP_KEY, ZTO_APP_SECRET=settings.ZTO_APP_SECRET)
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        data, digest = form.get("data", ""), form.get("data_digest", "")
        if not digest or not constant_time_compare(digest, md5_base64(data + settings.ZTO_APP_SECRET)):
            raise CarrierSignatureInvalid("bad or missing data_digest")
        if form.get("company_id", settings.ZTO_APP_KEY) != settings.ZTO_APP_KEY:
            raise CarrierSignatureInvalid("push for another company_id")
        try:
            traces = json.loads(data)
            return [
                _update(
                    t["billCode"],
                    t.get("action", ""),
                    local_time(t["actionTime"]),
                    t.get("city") or "",
                    t.get("desc") or "",
                )
                for t in (traces if isinstance(traces, list) else [traces])
            ]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CarrierError(f"malformed push: {exc}") from exc

    def push_reply(self, stored: int) -> PushReply:
        return PushReply(compact_json({"status": True, "message": "success", "result": "success"}))


def _scan_time(value) -> datetime:
    if isinstance(value, int | float):  # epoch milliseconds
        return datetime.fromtimestamp(value / 1000, tz=CARRIER_TZ)
    return local_time(str(value))


def _update(number: str, action: str, at: datetime, location: str, description: str) -> TrackingUpdate:
    status = ACTIONS.get(action, "in_transit")
    return TrackingUpdate(number, event_id(number, at, status), at, status, location, description)
