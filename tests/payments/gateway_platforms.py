"""WeChat Pay API v3, Alipay's OpenAPI gateway and PayPal's REST API, played on a real local HTTP server.

Each checks the merchant's request signature the way its platform documents it (written here apart from the
adapters), keeps its own view of each payment, and signs its answers with its own key: WeChat Pay in
`Wechatpay-*` headers over `timestamp\\nnonce\\nbody\\n`, Alipay over the raw JSON of `<method>_response`;
PayPal answers over TLS only, behind OAuth client credentials, and signs its webhooks."""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
import zlib
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import parse_qsl, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


@cache
def rsa_key(name: str) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(name: str) -> str:
    return (
        rsa_key(name)
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )


def public_pem(name: str) -> str:
    return (
        rsa_key(name)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def sign(name: str, message: bytes) -> str:
    return base64.b64encode(rsa_key(name).sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def verify(name: str, signature: str, message: bytes) -> bool:
    try:
        rsa_key(name).public_key().verify(base64.b64decode(signature), message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass
class Platforms:
    mchid: str = "1900000109"
    merchant_serial: str = "MERCHANT-SERIAL-0001"
    platform_serial: str = "PLATFORM-SERIAL-0001"
    alipay_app_id: str = "2021000000000000"
    signing_key: str = "platform"  # what the platforms sign their answers with; "impostor" forges
    broken: bool = False  # answers that leave out what they must carry
    trades: dict[str, dict] = field(default_factory=dict)  # (gateway, reference) -> the platform's view
    refunds: list[dict] = field(default_factory=list)
    received: list[tuple[str, str]] = field(default_factory=list)
    url: str = ""  # where `respond` is served (tests.local_server.serving)

    def pay(self, gateway: str, reference: str) -> None:
        self.trades[(gateway, reference)]["state"] = "paid"

    # --- WeChat Pay API v3 ---------------------------------------------------------------------------------
    def wechatpay(self, method: str, path: str, headers, body: bytes) -> tuple[int, dict]:
        auth = headers.get("Authorization", "")
        fields = dict(re.findall(r'(\w+)="([^"]*)"', auth))
        message = f"{method}\n{path}\n{fields.get('timestamp')}\n{fields.get('nonce_str')}\n".encode() + body + b"\n"
        if (
            not auth.startswith("WECHATPAY2-SHA256-RSA2048 ")
            or fields.get("mchid") != self.mchid
            or fields.get("serial_no") != self.merchant_serial
            or not verify("wechatpay-merchant", fields.get("signature", ""), message)
        ):
            return 401, {"code": "SIGN_ERROR", "message": "签名错误"}
        route = urlsplit(path).path
        if method == "POST" and route == "/v3/pay/transactions/native":
            order = json.loads(body)
            self.trades[("wechatpay", order["out_trade_no"])] = {
                "state": "pending",
                "amount": order["amount"]["total"],
                "currency": order["amount"]["currency"],
                "notify_url": order["notify_url"],
                "txn": "4200" + secrets.token_hex(12),
            }
            if self.broken:
                return 200, {}
            return 200, {"code_url": f"weixin://wxpay/bizpayurl?pr={secrets.token_urlsafe(6)}"}
        if method == "GET" and route.startswith("/v3/pay/transactions/out-trade-no/"):
            trade = self.trades.get(("wechatpay", route.rsplit("/", 1)[1]))
            if trade is None:
                return 404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"}
            answer = {
                "mchid": self.mchid,
                "out_trade_no": route.rsplit("/", 1)[1],
                "trade_state": {"pending": "NOTPAY", "paid": "SUCCESS", "closed": "CLOSED"}[trade["state"]],
            }
            if trade["state"] == "paid":
                answer.update(
                    transaction_id=trade["txn"],
                    amount={"total": trade["amount"], "payer_total": trade["amount"], "currency": trade["currency"]},
                )
            return 200, answer
        if method == "POST" and route == "/v3/refund/domestic/refunds":
            request = json.loads(body)
            self.refunds.append({"gateway": "wechatpay", **request})
            return 200, {"refund_id": "5030" + secrets.token_hex(10), "out_refund_no": request["out_refund_no"]}
        return 404, {"code": "NOT_FOUND", "message": "no such API"}

    def wechatpay_headers(self, body: bytes) -> dict[str, str]:
        timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
        return {
            "Wechatpay-Timestamp": timestamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Serial": self.platform_serial,
            "Wechatpay-Signature": sign(
                f"wechatpay-{self.signing_key}", f"{timestamp}\n{nonce}\n".encode() + body + b"\n"
            ),
        }

    # --- Alipay OpenAPI --------------------------------------------------------------------------------------
    def alipay(self, body: bytes) -> str:
        params = dict(parse_qsl(body.decode()))
        node = params.get("method", "").replace(".", "_") + "_response"
        content = "&".join(
            f"{k}={v}" for k, v in sorted(params.items()) if k not in ("sign", "sign_type") and v not in ("", None)
        )
        if params.get("app_id") != self.alipay_app_id or not verify(
            "alipay-app", params.get("sign", ""), content.encode()
        ):
            answer = {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature"}
            return json.dumps({"error_response": answer}, ensure_ascii=False)
        biz = json.loads(params["biz_content"])
        trade = self.trades.get(("alipay", biz["out_trade_no"]))
        if trade is None:
            answer = {
                "code": "40004",
                "msg": "Business Failed",
                "sub_code": "ACQ.TRADE_NOT_EXIST",
                "sub_msg": "交易不存在",
            }
        elif params["method"] == "alipay.trade.query":
            answer = {
                "code": "10000",
                "msg": "Success",
                "out_trade_no": biz["out_trade_no"],
                "trade_no": trade["txn"],
                "trade_status": {"pending": "WAIT_BUYER_PAY", "paid": "TRADE_SUCCESS", "closed": "TRADE_CLOSED"}[
                    trade["state"]
                ],
                "total_amount": trade["amount"],
            }
        elif params["method"] == "alipay.trade.refund":
            self.refunds.append({"gateway": "alipay", **biz})
            answer = {"code": "10000", "msg": "Success", "fund_change": "Y", "refund_fee": biz["refund_amount"]}
        else:
            answer = {"code": "40004", "msg": "Business Failed", "sub_code": "isv.invalid-method"}
        raw = json.dumps(answer, ensure_ascii=False, indent=1)  # signed as sent, whitespace and all
        return f'{{"{node}":{raw},"sign":"{sign(f"alipay-{self.signing_key}", raw.encode())}"}}'

    def open_alipay_trade(self, reference: str, amount: str) -> None:
        """The customer opened the pay page: from now on Alipay knows the trade."""
        self.trades[("alipay", reference)] = {
            "state": "pending",
            "amount": amount,
            "txn": "2026" + secrets.token_hex(8),
        }

    # --- PayPal REST --------------------------------------------------------------------------------------------
    paypal_client: tuple[str, str] = ("paypal-client-id", "paypal-client-secret")
    paypal_tokens_issued: int = 0
    paypal_token: str | None = None  # the one access token PayPal accepts right now
    paypal_request_ids: dict = field(default_factory=dict)  # PayPal-Request-Id / Idempotency-Key -> the answer
    paypal_refunds: dict = field(default_factory=dict)  # refund id -> PayPal's refund object

    def paypal(self, method: str, path: str, headers, body: bytes) -> tuple[int, dict]:
        if path == "/v1/oauth2/token":
            expected = "Basic " + base64.b64encode(":".join(self.paypal_client).encode()).decode()
            if headers.get("Authorization") != expected or b"grant_type=client_credentials" not in body:
                return 401, {"error": "invalid_client"}
            self.paypal_tokens_issued += 1
            self.paypal_token = f"A21AA{secrets.token_hex(8)}"
            return 200, {"access_token": self.paypal_token, "token_type": "Bearer", "expires_in": 32400}
        if not self.paypal_token or headers.get("Authorization") != f"Bearer {self.paypal_token}":
            return 401, {"name": "AUTHENTICATION_FAILURE", "message": "token expired"}
        request_id = headers.get("PayPal-Request-Id")
        if request_id and request_id in self.paypal_request_ids:
            return self.paypal_request_ids[request_id]
        answer = self._paypal(method, path, json.loads(body) if body else {})
        if request_id and answer[0] < 400:
            self.paypal_request_ids[request_id] = answer
        return answer

    def _paypal(self, method, path, payload):
        if method == "GET" and path.startswith("/v2/payments/captures/"):
            trade = next(
                (t for (g, _r), t in self.trades.items() if g == "paypal" and t.get("capture_id") == path[22:]), None
            )
            return (200, self._paypal_capture(trade)) if trade else (404, {"name": "RESOURCE_NOT_FOUND"})
        if method == "GET" and path.startswith("/v2/payments/refunds/"):
            refund = self.paypal_refunds.get(path[21:])
            return (200, refund) if refund else (404, {"name": "RESOURCE_NOT_FOUND"})
        if method == "POST" and path == "/v2/checkout/orders":
            unit = payload["purchase_units"][0]
            order_id = secrets.token_hex(8).upper()
            self.trades[("paypal", unit["custom_id"])] = {"state": "pending", "order_id": order_id, "unit": unit}
            link = {"rel": "payer-action", "href": f"https://www.paypal.com/checkoutnow?token={order_id}"}
            return 201, {"id": order_id, "status": "PAYER_ACTION_REQUIRED", "links": [link]}
        trade = next(
            (
                t
                for (g, _r), t in self.trades.items()
                if g == "paypal" and (t["order_id"] in path or t.get("capture_id", "-") in path)
            ),
            None,
        )
        if trade is None:
            return 404, {"name": "RESOURCE_NOT_FOUND", "details": [{"issue": "INVALID_RESOURCE_ID"}]}
        if method == "GET":
            return 200, self._paypal_order(trade)
        if path.endswith("/capture"):
            if trade["state"] != "approved":
                return 422, {"name": "UNPROCESSABLE_ENTITY", "details": [{"issue": "ORDER_NOT_APPROVED"}]}
            trade.update(state="paid", capture_id=secrets.token_hex(8).upper())
            return 201, self._paypal_order(trade)
        if path.endswith("/refund"):
            capture_id = path.split("/")[-2]
            self.refunds.append({"gateway": "paypal", "capture_id": capture_id, **payload})
            refund = {
                "id": secrets.token_hex(8).upper(),
                "status": "COMPLETED",
                "amount": payload["amount"],
                "invoice_id": payload.get("invoice_id"),
                "custom_id": payload.get("custom_id"),
                "links": [{"rel": "up", "href": f"{self.url}/paypal/v2/payments/captures/{capture_id}"}],
            }
            self.paypal_refunds[refund["id"]] = refund
            return 201, refund
        return 404, {"name": "RESOURCE_NOT_FOUND"}

    def _paypal_order(self, trade):
        status = {"pending": "PAYER_ACTION_REQUIRED", "approved": "APPROVED", "paid": "COMPLETED"}[trade["state"]]
        unit = dict(trade["unit"])
        if trade["state"] == "paid":
            capture = {"id": trade["capture_id"], "status": "COMPLETED", "amount": unit["amount"]}
            unit["payments"] = {"captures": [{**capture, "custom_id": unit["custom_id"]}]}
        return {"id": trade["order_id"], "intent": "CAPTURE", "status": status, "purchase_units": [unit]}

    def _paypal_capture(self, trade):
        unit = trade["unit"]
        return {
            "id": trade["capture_id"],
            "status": "COMPLETED",
            "amount": unit["amount"],
            "custom_id": unit["custom_id"],
        }

    def paypal_approval_webhook(self, reference: str, webhook_id: str) -> tuple[dict, bytes]:
        """The buyer approved: the CHECKOUT.ORDER.APPROVED webhook PayPal sends, signed as PayPal signs."""
        trade = self.trades[("paypal", reference)]
        trade["state"] = "approved"
        return self.paypal_webhook("CHECKOUT.ORDER.APPROVED", "checkout-order", self._paypal_order(trade), webhook_id)

    def paypal_capture_webhook(self, reference: str, webhook_id: str) -> tuple[dict, bytes]:
        """PAYMENT.CAPTURE.COMPLETED for a captured payment."""
        trade = self.trades[("paypal", reference)]
        return self.paypal_webhook("PAYMENT.CAPTURE.COMPLETED", "capture", self._paypal_capture(trade), webhook_id)

    def paypal_webhook(self, event_type: str, resource_type: str, resource: dict, webhook_id: str):
        body = json.dumps(
            {
                "id": "WH-" + secrets.token_hex(8).upper(),
                "event_type": event_type,
                "resource_type": resource_type,
                "resource": resource,
            }
        ).encode()
        tid = secrets.token_hex(8)
        ttime = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        message = f"{tid}|{ttime}|{webhook_id}|{zlib.crc32(body)}".encode()
        return {
            "Content-Type": "application/json",
            "PAYPAL-TRANSMISSION-ID": tid,
            "PAYPAL-TRANSMISSION-TIME": ttime,
            "PAYPAL-TRANSMISSION-SIG": sign("paypal-webhook", message),
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
        }, body

    # --- Stripe API (form-encoded requests, as the official client sends them) ----------------------------------
    stripe_key: str = "sk_test_shop"

    def stripe(self, method: str, path: str, headers, body: bytes) -> tuple[int, dict]:
        if headers.get("Authorization") != f"Bearer {self.stripe_key}":
            return 401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}}
        params = dict(parse_qsl(body.decode()))
        request_id = headers.get("Idempotency-Key")
        if request_id and request_id in self.paypal_request_ids:
            return self.paypal_request_ids[request_id]
        if method == "POST" and path == "/v1/payment_intents":
            intent_id = "pi_" + secrets.token_hex(12)
            reference = params["metadata[reference]"]
            self.trades[("stripe", reference)] = {"state": "pending", "id": intent_id, **params}
            answer = 200, self._intent(self.trades[("stripe", reference)])
        elif method == "GET" and path.startswith("/v1/payment_intents/"):
            trade = next(
                (t for (g, _r), t in self.trades.items() if g == "stripe" and t["id"] == path.split("/")[3]), None
            )
            if trade is None:
                return 404, {
                    "error": {"type": "invalid_request_error", "code": "resource_missing", "message": "No such"}
                }
            answer = 200, self._intent(trade)
        elif method == "POST" and path == "/v1/refunds":
            self.refunds.append({"gateway": "stripe", **params})
            answer = 200, {"id": "re_" + secrets.token_hex(12), "object": "refund", "amount": int(params["amount"])}
        else:
            return 404, {"error": {"type": "invalid_request_error", "message": "Unrecognized request URL"}}
        if request_id:
            self.paypal_request_ids[request_id] = answer
        return answer

    def _intent(self, trade):
        status = {"pending": "requires_payment_method", "paid": "succeeded", "closed": "canceled"}[trade["state"]]
        return {
            "id": trade["id"],
            "object": "payment_intent",
            "amount": int(trade["amount"]),
            "currency": trade["currency"],
            "status": status,
            "client_secret": f"{trade['id']}_secret_x",
            "metadata": {"reference": trade["metadata[reference]"]},
            "last_payment_error": None,
        }

    def respond(self, method: str, path: str, headers, body: bytes) -> tuple[int, bytes, dict[str, str]]:
        self.received.append((path, body.decode()))
        if path.startswith("/stripe/"):
            status, answer = self.stripe(method, path.removeprefix("/stripe"), headers, body)
            return status, json.dumps(answer).encode(), {}
        if path.startswith("/paypal/"):
            status, answer = self.paypal(method, path.removeprefix("/paypal"), headers, body)
            return status, json.dumps(answer).encode(), {}
        if path.startswith("/v3/"):
            status, answer = self.wechatpay(method, path, headers, body)
            payload = json.dumps(answer, ensure_ascii=False).encode()
            return status, payload, self.wechatpay_headers(payload) if status < 400 else {}
        return 200, self.alipay(body).encode(), {}
