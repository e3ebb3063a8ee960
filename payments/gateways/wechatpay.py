"""WeChat Pay API v3: the platform signs `timestamp\\nnonce\\nbody\\n` with RSA-SHA256; the payload is an
AEAD_AES_256_GCM `resource` encrypted with the merchant's APIv3 key."""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import uuid
from datetime import datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.http import HttpResponse, JsonResponse

from . import keys
from .base import (
    MalformedNotification,
    Notification,
    PaymentRequest,
    SignatureInvalid,
    SignedRequest,
    StaleNotification,
    cents,
    from_cents,
)
from .sandbox import SandboxLedgerMixin

SANDBOX_SERIAL = "5157F09EFDC096DE15EBE81A47057A72SANDBOX"


class WeChatPayGateway(SandboxLedgerMixin):
    name = "wechatpay"

    def _apiv3_key(self) -> bytes:
        key = keys.sandbox_secret("wechatpay_apiv3", 32) if self.sandbox else settings.WECHATPAY_APIV3_KEY
        return key.encode()

    def _platform(self):
        if self.sandbox:
            return keys.sandbox_private_key("wechatpay_platform").public_key(), SANDBOX_SERIAL
        return keys.load_public_key(settings.WECHATPAY_PLATFORM_CERT), settings.WECHATPAY_PLATFORM_SERIAL

    def create(self, request: PaymentRequest) -> dict:
        """Native pay: the storefront renders `code_url` as a QR code."""
        if not self.sandbox:
            from .base import GatewayNotConfigured

            raise GatewayNotConfigured("live WeChat Pay ordering (POST /v3/pay/transactions/native) is not wired yet")
        return {
            "type": "qr_code",
            "code_url": f"weixin://wxpay/bizpayurl?pr={secrets.token_urlsafe(9)}",
            "out_trade_no": request.reference,
        }

    def parse_callback(self, *, headers: dict[str, str], body: bytes, now: datetime) -> Notification:
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
        try:
            amount = data["amount"]
            common = {
                "reference": data["out_trade_no"],
                "event_type": event_type,
                "gateway_txn_id": data.get("transaction_id", ""),
                "amount": from_cents(amount["total"]),
                "currency": amount.get("currency", "CNY"),
            }
            if event_type.startswith("REFUND."):
                if data.get("refund_status") != "SUCCESS":
                    return Notification(outcome="ignored", **common)
                return Notification(
                    outcome="refund", refund_id=data["refund_id"], refund_amount=from_cents(amount["refund"]), **common
                )
        except (KeyError, TypeError) as exc:
            raise MalformedNotification(f"missing field {exc}") from exc
        state = data.get("trade_state")
        if state == "SUCCESS":
            return Notification(outcome="success", **common)
        if state in ("CLOSED", "REVOKED", "PAYERROR"):
            return Notification(outcome="failure", definitive=state != "PAYERROR", **common)
        return Notification(outcome="ignored", **common)

    def ack(self, *, accepted: bool, message: str = "") -> HttpResponse:
        if accepted:
            return HttpResponse(status=204)
        return JsonResponse({"code": "FAIL", "message": message or "rejected"}, status=400)

    def sandbox_request(
        self, *, reference, amount, currency, outcome, txn_id, now, refund_id="", refund_amount=None
    ) -> SignedRequest:
        if outcome == "refund":
            event_type, original = "REFUND.SUCCESS", "refund"
            data = {
                "mchid": settings.WECHATPAY_MCHID,
                "out_trade_no": reference,
                "transaction_id": txn_id,
                "out_refund_no": refund_id,
                "refund_id": refund_id,
                "refund_status": "SUCCESS",
                "amount": {"total": cents(amount), "refund": cents(refund_amount), "currency": currency},
            }
        else:
            state = "SUCCESS" if outcome == "success" else "CLOSED"
            event_type, original = f"TRANSACTION.{state}", "transaction"
            data = {
                "mchid": settings.WECHATPAY_MCHID,
                "appid": settings.WECHATPAY_APPID,
                "out_trade_no": reference,
                "transaction_id": txn_id,
                "trade_type": "NATIVE",
                "trade_state": state,
                "success_time": now.isoformat(),
                "amount": {"total": cents(amount), "currency": currency},
            }
        nonce = secrets.token_hex(6)
        ciphertext = AESGCM(self._apiv3_key()).encrypt(nonce.encode(), json.dumps(data).encode(), original.encode())
        body = json.dumps(
            {
                "id": str(uuid.uuid4()),
                "create_time": now.isoformat(),
                "resource_type": "encrypt-resource",
                "event_type": event_type,
                "summary": "sandbox",
                "resource": {
                    "original_type": original,
                    "algorithm": "AEAD_AES_256_GCM",
                    "ciphertext": base64.b64encode(ciphertext).decode(),
                    "associated_data": original,
                    "nonce": nonce,
                },
            }
        )
        timestamp, header_nonce = str(int(now.timestamp())), secrets.token_hex(16)
        message = f"{timestamp}\n{header_nonce}\n{body}\n".encode()
        signature = base64.b64encode(keys.rsa_sha256_sign(keys.sandbox_private_key("wechatpay_platform"), message))
        headers = {
            "Wechatpay-Timestamp": timestamp,
            "Wechatpay-Nonce": header_nonce,
            "Wechatpay-Signature": signature.decode(),
            "Wechatpay-Serial": SANDBOX_SERIAL,
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        }
        return SignedRequest(path="/api/v1/payments/callbacks/wechatpay/", headers=headers, body=body)
