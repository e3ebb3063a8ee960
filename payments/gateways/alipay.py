"""Alipay: RSA2 (RSA-SHA256) over the sorted `k=v` parameters; asynchronous notifications are
form-encoded, and Alipay expects the plain text `success` or `failure` back."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpResponse

from . import keys
from .base import (
    GatewayNotConfigured,
    GatewayRefused,
    MalformedNotification,
    Notification,
    PaymentRequest,
    SignatureInvalid,
    http_call,
)

BEIJING = ZoneInfo("Asia/Shanghai")  # Alipay reads request timestamps as Beijing time


def _trade(fields: dict, event_type: str, *, refunds: bool) -> Notification:
    """A trade as Alipay describes it: notifications and query answers use the same field names."""
    try:
        common = {
            "reference": fields["out_trade_no"],
            "event_type": event_type,
            "gateway_txn_id": fields.get("trade_no", ""),
            "amount": Decimal(fields["total_amount"]),
            "currency": fields.get("trans_currency") or "CNY",
        }
        status = fields["trade_status"]
        if refunds and fields.get("refund_fee"):
            return Notification(
                outcome="refund",
                refund_id=fields.get("out_biz_no") or fields.get("notify_id", ""),
                refund_amount=Decimal(fields["refund_fee"]),
                **common,
            )
    except (KeyError, InvalidOperation) as exc:
        raise MalformedNotification(f"missing or bad field: {exc}") from exc
    if status in ("TRADE_SUCCESS", "TRADE_FINISHED"):
        return Notification(outcome="success", **common)
    if status == "TRADE_CLOSED":
        return Notification(outcome="failure", definitive=True, **common)
    return Notification(outcome="ignored", **common)


def sign_content(params: dict[str, str]) -> bytes:
    """Alipay's string to sign: every parameter but `sign` and `sign_type`, non-empty, sorted, `k=v&...`."""
    items = sorted((k, v) for k, v in params.items() if k not in ("sign", "sign_type") and v not in ("", None))
    return "&".join(f"{k}={v}" for k, v in items).encode("utf-8")


class AlipayGateway:
    name = "alipay"
    signs_whole_body = True

    def _alipay_public_key(self):
        return keys.load_public_key(settings.ALIPAY_PUBLIC_KEY)

    def _app_private_key(self):
        return keys.load_private_key(settings.ALIPAY_APP_PRIVATE_KEY)

    def _gateway_url(self) -> str:
        return settings.ALIPAY_GATEWAY_URL

    def _signed(self, method: str, biz: dict, **extra: str) -> dict[str, str]:
        params = {
            "app_id": settings.ALIPAY_APP_ID,
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
            "version": "1.0",
            "biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":")),
            **extra,
        }
        params["sign"] = base64.b64encode(keys.rsa_sha256_sign(self._app_private_key(), sign_content(params))).decode()
        return params

    def create(self, request: PaymentRequest) -> dict:
        """A signed `alipay.trade.page.pay` URL: the storefront redirects the customer to it."""
        biz = {
            "out_trade_no": request.reference,
            "total_amount": f"{request.amount:.2f}",
            "subject": request.description,
            "product_code": "FAST_INSTANT_TRADE_PAY",
        }
        params = self._signed(
            "alipay.trade.page.pay",
            biz,
            notify_url=settings.PAYMENTS_CALLBACK_BASE_URL + "/api/v1/payments/callbacks/alipay/",
        )
        return {"type": "redirect", "url": f"{self._gateway_url()}?{urlencode(params)}"}

    def query(self, *, reference: str, action: dict | None = None) -> Notification | None:
        try:
            data = self._api("alipay.trade.query", {"out_trade_no": reference})
        except GatewayRefused as exc:
            if exc.code == "ACQ.TRADE_NOT_EXIST":  # the customer never opened the pay page
                return None
            raise
        status = data.get("trade_status")
        if status not in ("TRADE_SUCCESS", "TRADE_FINISHED", "TRADE_CLOSED"):
            return None  # WAIT_BUYER_PAY: nothing final yet
        return _trade(data, f"query:{status}", refunds=False)

    def refund(self, *, reference, gateway_txn_id, amount, currency, refund_id, total) -> str:
        self._api(
            "alipay.trade.refund",
            {"out_trade_no": reference, "refund_amount": f"{amount:.2f}", "out_request_no": refund_id},
        )
        return refund_id  # Alipay knows a partial refund by our out_request_no

    def _api(self, method: str, biz: dict) -> dict:
        """A signed call to Alipay's OpenAPI gateway. A successful answer is believed only if Alipay's
        signature over the raw `<method>_response` JSON verifies."""
        if not (settings.ALIPAY_APP_PRIVATE_KEY and settings.ALIPAY_PUBLIC_KEY):
            raise GatewayNotConfigured("live Alipay needs ALIPAY_APP_PRIVATE_KEY and ALIPAY_PUBLIC_KEY")
        response = http_call("POST", settings.ALIPAY_GATEWAY_URL, data=self._signed(method, biz))
        text = response.text
        node = method.replace(".", "_") + "_response"
        if f'"{node}"' not in text:
            node = "error_response"  # refused before the method ran (bad app_id, bad signature)
        try:
            start = text.index(f'"{node}"')
            start = text.index("{", start)
            data, end = json.JSONDecoder().raw_decode(text, start)
            sign = json.loads(text).get("sign", "")
        except (ValueError, AttributeError) as exc:
            raise MalformedNotification(f"Alipay answered {method} with something unreadable") from exc
        if data.get("code") != "10000":
            error = GatewayRefused(
                f"Alipay {data.get('sub_code') or data.get('code')}: {data.get('sub_msg') or data.get('msg')}",
                data.get("sub_code", ""),
            )
            error.transient = data.get("code") == "20000"  # service temporarily unavailable
            raise error
        try:
            signature = base64.b64decode(sign, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SignatureInvalid("Alipay's answer carries no valid signature") from exc
        if not keys.rsa_sha256_verify(self._alipay_public_key(), signature, text[start:end].encode("utf-8")):
            raise SignatureInvalid(f"Alipay's signature over {node} does not verify")
        return data

    def looks_like(self, body: bytes) -> bool:
        """A form-encoded notification naming a trade (signed or not: a bad signature is kept for audit)."""
        try:
            params = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True))
        except (UnicodeDecodeError, ValueError):
            return False
        return "out_trade_no" in params or "notify_id" in params

    def parse_callback(self, *, headers: dict[str, str], body: bytes, now: datetime) -> Notification:
        try:
            params = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True))
        except (UnicodeDecodeError, ValueError) as exc:
            raise MalformedNotification("not a form-encoded notification") from exc
        if params.get("sign_type") != "RSA2" or not params.get("sign"):
            raise SignatureInvalid("missing RSA2 signature")
        try:
            signature = base64.b64decode(params["sign"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SignatureInvalid("signature is not base64") from exc
        if not keys.rsa_sha256_verify(self._alipay_public_key(), signature, sign_content(params)):
            raise SignatureInvalid("RSA2 signature does not verify")
        if params.get("app_id") != settings.ALIPAY_APP_ID:
            raise SignatureInvalid("notification for another app_id")
        return _trade(params, params.get("trade_status", ""), refunds=True)

    def ack(self, *, accepted: bool, message: str = "") -> HttpResponse:
        # Alipay resends until it reads `success`; a refusal is also a 4xx for everyone else watching.
        return HttpResponse(
            "success" if accepted else "failure", content_type="text/plain", status=200 if accepted else 400
        )
