"""WeChat Pay API v3: the platform signs `timestamp\\nnonce\\nbody\\n` with RSA-SHA256; the payload is an
AEAD_AES_256_GCM `resource` encrypted with the merchant's APIv3 key."""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from datetime import datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils import timezone

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
    cents,
    from_cents,
    http_call,
    json_object_with,
)

FINAL_STATES = ("SUCCESS", "CLOSED", "REVOKED", "PAYERROR")


class WeChatPayGateway:
    name = "wechatpay"
    signs_whole_body = True

    def _apiv3_key(self) -> bytes:
        return settings.WECHATPAY_APIV3_KEY.encode()

    def _platform(self):
        return keys.load_public_key(settings.WECHATPAY_PLATFORM_CERT), settings.WECHATPAY_PLATFORM_SERIAL

    def create(self, request: PaymentRequest) -> dict:
        """Native pay: the storefront renders `code_url` as a QR code."""
        answer = self._api(
            "POST",
            "/v3/pay/transactions/native",
            {
                "appid": settings.WECHATPAY_APPID,
                "mchid": settings.WECHATPAY_MCHID,
                "description": request.description,
                "out_trade_no": request.reference,
                "notify_url": settings.PAYMENTS_CALLBACK_BASE_URL + "/api/v1/payments/callbacks/wechatpay/",
                "amount": {"total": cents(request.amount), "currency": request.currency},
            },
        )
        code_url = answer_field(answer, "code_url", "WeChat Pay")
        return {"type": "qr_code", "code_url": code_url, "out_trade_no": request.reference}

    def query(self, *, reference: str, action: dict | None = None) -> Notification | None:
        try:
            data = self._api("GET", f"/v3/pay/transactions/out-trade-no/{reference}?mchid={settings.WECHATPAY_MCHID}")
        except GatewayRefused as exc:
            if exc.code == "ORDER_NOT_EXIST":
                return None
            raise
        if data.get("trade_state") not in FINAL_STATES:
            return None  # NOTPAY, USERPAYING: nothing final to say yet
        return self._transaction(data, f"query:{data['trade_state']}")

    def refund(self, *, reference, gateway_txn_id, amount, currency, refund_id, total) -> str:
        data = self._api(
            "POST",
            "/v3/refund/domestic/refunds",
            {
                "out_trade_no": reference,
                "out_refund_no": refund_id,
                "notify_url": settings.PAYMENTS_CALLBACK_BASE_URL + "/api/v1/payments/callbacks/wechatpay/",
                "amount": {"refund": cents(amount), "total": cents(total), "currency": currency},
            },
        )
        return answer_field(data, "refund_id", "WeChat Pay")

    def _api(self, method: str, path: str, payload: dict | None = None) -> dict:
        """A call to API v3 signed with the merchant key; a successful answer must carry the platform's
        signature, or it is not believed."""
        if not (settings.WECHATPAY_MCH_PRIVATE_KEY and settings.WECHATPAY_MCH_SERIAL):
            raise GatewayNotConfigured("live WeChat Pay needs WECHATPAY_MCH_PRIVATE_KEY and WECHATPAY_MCH_SERIAL")
        body = "" if payload is None else json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
        message = f"{method}\n{path}\n{timestamp}\n{nonce}\n{body}\n".encode()
        key = keys.load_private_key(settings.WECHATPAY_MCH_PRIVATE_KEY)
        signature = base64.b64encode(keys.rsa_sha256_sign(key, message)).decode()
        authorization = (
            f'WECHATPAY2-SHA256-RSA2048 mchid="{settings.WECHATPAY_MCHID}",nonce_str="{nonce}",'
            f'signature="{signature}",timestamp="{timestamp}",serial_no="{settings.WECHATPAY_MCH_SERIAL}"'
        )
        response = http_call(
            method,
            settings.WECHATPAY_API_URL.rstrip("/") + path,
            data=body.encode() if body else None,
            headers={"Authorization": authorization, "Accept": "application/json", "Content-Type": "application/json"},
        )
        try:
            data = response.json() if response.content else {}
        except ValueError as exc:
            raise MalformedNotification(f"WeChat Pay answered {path} with something unreadable") from exc
        if response.status_code >= 400:
            error = GatewayRefused(f"WeChat Pay {data.get('code')}: {data.get('message')}", data.get("code", ""))
            error.transient = response.status_code >= 500
            raise error
        self._verify(response.headers, response.content, now=timezone.now())
        return data

    def _verify(self, headers, body: bytes, *, now: datetime) -> None:
        """The platform's signature over `timestamp\\nnonce\\nbody\\n`: callbacks and API answers alike."""
        h = {k.lower(): v for k, v in headers.items()}
        timestamp, nonce = h.get("wechatpay-timestamp", ""), h.get("wechatpay-nonce", "")
        signature, serial = h.get("wechatpay-signature", ""), h.get("wechatpay-serial", "")
        if not (timestamp and nonce and signature and serial):
            raise SignatureInvalid("missing Wechatpay-* signature headers")
        public_key, expected_serial = self._platform()
        if serial != expected_serial:
            raise SignatureInvalid("unknown platform certificate serial")
        try:
            sig = base64.b64decode(signature, validate=True)
            ts = int(timestamp)
        except (binascii.Error, ValueError) as exc:
            raise SignatureInvalid("malformed signature headers") from exc
        message = f"{timestamp}\n{nonce}\n".encode() + body + b"\n"
        if not keys.rsa_sha256_verify(public_key, sig, message):
            raise SignatureInvalid("signature does not verify")
        if abs(now.timestamp() - ts) > settings.PAYMENTS_CALLBACK_TOLERANCE_SECONDS:
            raise StaleNotification("timestamp outside the tolerance")

    def _transaction(self, data: dict, event_type: str) -> Notification:
        try:
            common = {
                "reference": data["out_trade_no"],
                "event_type": event_type,
                "gateway_txn_id": data.get("transaction_id", ""),
                "amount": from_cents(data["amount"]["total"]),
                "currency": data["amount"].get("currency", "CNY"),
            }
        except (KeyError, TypeError) as exc:
            raise MalformedNotification(f"missing field {exc}") from exc
        state = data.get("trade_state")
        if state == "SUCCESS":
            return Notification(outcome="success", **common)
        if state in FINAL_STATES:
            return Notification(outcome="failure", definitive=state != "PAYERROR", **common)
        return Notification(outcome="ignored", **common)

    def looks_like(self, body: bytes) -> bool:
        return json_object_with(body, "resource", dict)

    def parse_callback(self, *, headers: dict[str, str], body: bytes, now: datetime) -> Notification:
        self._verify(headers, body, now=now)
        try:
            event = json.loads(body)
            resource = event["resource"]
            if resource.get("algorithm") != "AEAD_AES_256_GCM":
                raise MalformedNotification("unsupported resource algorithm")
            plain = AESGCM(self._apiv3_key()).decrypt(
                resource["nonce"].encode(),
                base64.b64decode(resource["ciphertext"]),
                (resource.get("associated_data") or "").encode(),
            )
            data = json.loads(plain)
        except InvalidTag as exc:
            raise SignatureInvalid("resource does not decrypt with the APIv3 key") from exc
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise MalformedNotification(f"bad notification: {exc}") from exc
        if data.get("mchid") != settings.WECHATPAY_MCHID:
            raise SignatureInvalid("notification for another merchant")
        event_type = event.get("event_type", "")
        if not event_type.startswith("REFUND."):
            return self._transaction(data, event_type)
        try:
            amount = data["amount"]
            common = {
                "reference": data["out_trade_no"],
                "event_type": event_type,
                "gateway_txn_id": data.get("transaction_id", ""),
                "amount": from_cents(amount["total"]),
                "currency": amount.get("currency", "CNY"),
            }
            if data.get("refund_status") != "SUCCESS":
                return Notification(outcome="ignored", **common)
            return Notification(
                outcome="refund", refund_id=data["refund_id"], refund_amount=from_cents(amount["refund"]), **common
            )
        except (KeyError, TypeError) as exc:
            raise MalformedNotification(f"missing field {exc}") from exc

    def ack(self, *, accepted: bool, message: str = "") -> HttpResponse:
        if accepted:
            return HttpResponse(status=204)
        return JsonResponse({"code": "FAIL", "message": message or "rejected"}, status=400)
