"""SF Express, ZTO and YTO open platforms, played on a real local HTTP server (`tests.local_server`).

Each checks request signatures the way its platform documents them (written here apart from the adapters),
answers in that platform's envelope and vocabulary, and signs its pushes the way the platform does. A scan is
recorded once (`scan`) and then reported in each platform's own codes by both its query API and its push."""

from __future__ import annotations

import base64
import hashlib
import json
import random
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import parse_qs, quote_plus, urlencode
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")
# What each platform calls a pickup, a hub scan, a delivery round and a signature.
CODES = {
    "sf": {"pickup": "50", "hub": "30", "delivering": "44", "signed": "80"},
    "zto_push": {"pickup": "GOT", "hub": "ARRIVAL", "delivering": "DISPATCH", "signed": "SIGNED"},
    "zto_query": {"pickup": "收件", "hub": "到件", "delivering": "派件", "signed": "签收"},
    "yto": {"pickup": "GOT", "hub": "ARRIVAL", "delivering": "SENT_SCAN", "signed": "SIGNED"},
}
ROUTE_CODE = {"sf": "755WE-571A3", "zto": "300- H12 09", "yto": "310-801-000"}


def md5_b64(text: str) -> str:
    return base64.b64encode(hashlib.md5(text.encode("utf-8")).digest()).decode()


def beijing(at: datetime) -> str:
    return at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class Scan:
    at: datetime
    kind: str
    city: str
    remark: str


@dataclass
class Platforms:
    sf_partner: str = "SHOPTEST"
    sf_checkword: str = "sf-checkword-0123456789abcdef"
    zto_key: str = "zto-app-key"
    zto_secret: str = "zto-app-secret"
    yto_key: str = "yto-app-key"
    yto_code: str = "K21000119"
    yto_secret: str = "yto-secret"
    waybills: dict[str, dict] = field(default_factory=dict)  # number -> what the shop asked for
    scans: dict[str, list[Scan]] = field(default_factory=dict)
    received: list[tuple[str, str, str]] = field(default_factory=list)  # (carrier, path, raw body)
    url: str = ""  # where `respond` is served (tests.local_server.serving)

    def scan(self, number: str, at: datetime, kind: str, city: str = "杭州市", remark: str = "") -> Scan:
        record = Scan(at, kind, city, remark or f"{kind} scan at {city}")
        self.scans.setdefault(number, []).append(record)
        return record

    # --- pushes, as form fields; `form()` encodes them ----------------------------------------------------
    sf_push_urlencoded: bool = True  # SF's SDK hashes the URL-encoded text; some pushes hash it raw

    def push(self, carrier: str, number: str, scan: Scan, secret: str | None = None) -> dict[str, str]:
        return {"sf": self._sf_push, "zto": self._zto_push, "yto": self._yto_push}[carrier](number, scan, secret)

    def _sf_push(self, number, scan, secret):
        route = {
            "id": str(random.randrange(10**14, 10**15)),
            "mailno": number,
            "orderid": self.waybills.get(number, {}).get("reference", ""),
            "acceptTime": beijing(scan.at),
            "acceptAddress": scan.city,
            "remark": scan.remark,
            "opCode": CODES["sf"][scan.kind],
        }
        msg_data = json.dumps({"Body": {"WaybillRoute": [route]}}, ensure_ascii=False)
        timestamp = str(int(scan.at.timestamp()))
        signed = msg_data + timestamp + (secret or self.sf_checkword)
        digest = md5_b64(quote_plus(signed) if self.sf_push_urlencoded else signed)
        return {
            "partnerID": self.sf_partner,
            "requestID": f"push-{route['id']}",
            "serviceCode": "RoutePushService",
            "timestamp": timestamp,
            "msgDigest": digest,
            "msgData": msg_data,
        }

    def _zto_push(self, number, scan, secret):
        data = json.dumps(
            {
                "billCode": number,
                "actionTime": beijing(scan.at),
                "city": scan.city,
                "action": CODES["zto_push"][scan.kind],
                "desc": scan.remark,
            },
            ensure_ascii=False,
        )
        return {
            "data_digest": md5_b64(data + (secret or self.zto_secret)),
            "company_id": self.zto_key,
            "data": data,
            "msg_type": "Traces",
        }

    def _yto_push(self, number, scan, secret):
        xml = (
            "<UpdateInfo><logisticProviderID>YTO</logisticProviderID>"
            f"<clientID>{self.yto_code}</clientID><mailNo>{number}</mailNo>"
            f"<txLogisticID>{self.waybills.get(number, {}).get('reference', '')}</txLogisticID>"
            f"<infoType>STATUS</infoType><infoContent>{CODES['yto'][scan.kind]}</infoContent>"
            f"<remark>{scan.remark}</remark><acceptTime>{beijing(scan.at)}</acceptTime>"
            f"<city>{scan.city}</city></UpdateInfo>"
        )
        return {
            "logistics_interface": xml,
            "data_digest": md5_b64(xml + (secret or self.yto_secret)),
            "clientId": self.yto_code,
            "type": "online",
        }

    # --- the platforms' APIs ------------------------------------------------------------------------------
    def respond(self, method: str, path: str, headers, raw: bytes) -> tuple[int, bytes, dict[str, str]]:
        """Every platform answers HTTP 200 and says in its envelope whether it refused."""
        return 200, json.dumps(self.answer(path, headers, raw), ensure_ascii=False).encode(), {}

    def answer(self, path: str, headers, raw: bytes) -> dict | list:
        text = raw.decode("utf-8")
        carrier = path.split("/")[1]
        self.received.append((carrier, path, text))
        if path == "/sf/std/service":
            return self._sf(text)
        if carrier == "zto":
            return self._zto(path.removeprefix("/zto/"), headers, text)
        if path.startswith("/yto/open/"):
            return self._yto(path.removeprefix("/yto/open/").split("/"), text)
        return {"error": "no such endpoint"}

    def _sf(self, text):
        form = {k: v[0] for k, v in parse_qs(text).items()}
        expected = md5_b64(quote_plus(form["msgData"] + form["timestamp"] + self.sf_checkword))
        if form.get("partnerID") != self.sf_partner or form.get("msgDigest") != expected:
            return {"apiResultCode": "A1002", "apiErrorMsg": "验证码错误", "apiResultData": None}
        msg = json.loads(form["msgData"])
        if form["serviceCode"] == "EXP_RECE_CREATE_ORDER":
            number = "SF" + "".join(random.choice("0123456789") for _ in range(13))
            sender, recipient = (next(c for c in msg["contactInfoList"] if c["contactType"] == t) for t in (1, 2))
            self.waybills[number] = {
                "reference": msg["orderId"],
                "sender_city": sender["city"],
                "sender_street": sender["address"],
                "recipient_name": recipient["contact"],
                "recipient_city": recipient["city"],
                "items": [(c["name"], c["count"]) for c in msg["cargoDetails"]],
            }
            data = {
                "orderId": msg["orderId"],
                "waybillNoInfoList": [{"waybillType": 1, "waybillNo": number}],
                "routeLabelInfo": [{"code": "1000", "routeLabelData": {"destRouteLabel": ROUTE_CODE["sf"]}}],
            }
        elif form["serviceCode"] == "EXP_RECE_SEARCH_ROUTES":
            data = {
                "routeResps": [
                    {
                        "mailNo": number,
                        "routes": [
                            {
                                "acceptTime": beijing(s.at),
                                "acceptAddress": s.city,
                                "remark": s.remark,
                                "opCode": CODES["sf"][s.kind],
                            }
                            for s in self.scans.get(number, [])
                        ],
                    }
                    for number in msg["trackingNumber"]
                ]
            }
        else:
            return {"apiResultCode": "A1004", "apiErrorMsg": "无对应服务权限"}
        result = {"success": True, "errorCode": "S0000", "errorMsg": None, "msgData": data}
        return {"apiResultCode": "A1000", "apiErrorMsg": "", "apiResultData": json.dumps(result, ensure_ascii=False)}

    def _zto(self, api, headers, text):
        if headers.get("x-appKey") != self.zto_key or headers.get("x-dataDigest") != md5_b64(text + self.zto_secret):
            return {"status": False, "statusCode": "S211", "message": "签名错误", "result": None}
        body = json.loads(text)
        if api == "zto.open.createOrder":
            number = "7310" + "".join(random.choice("0123456789") for _ in range(10))
            self.waybills[number] = {
                "reference": body["partnerOrderCode"],
                "sender_city": body["senderInfo"]["senderCity"],
                "sender_street": body["senderInfo"]["senderAddress"],
                "recipient_name": body["receiveInfo"]["receiverName"],
                "recipient_city": body["receiveInfo"]["receiverCity"],
                "items": [(i["name"], i["quantity"]) for i in body["orderItems"]],
            }
            result = {"billCode": number, "bigMarkInfo": {"mark": ROUTE_CODE["zto"]}, "siteName": "上海"}
            return {"status": True, "statusCode": "0000", "message": "成功", "result": result}
        if api == "zto.merchant.waybill.track.query":
            scans = [
                {
                    "billCode": body["billCode"],
                    "scanDate": int(s.at.timestamp() * 1000),
                    "scanType": CODES["zto_query"][s.kind],
                    "desc": s.remark,
                    "scanSite": {"city": s.city},
                }
                for s in self.scans.get(body["billCode"], [])
            ]
            return {"status": True, "statusCode": "SYS000", "message": "操作成功", "result": scans}
        return {"status": False, "statusCode": "S207", "message": "API不存在"}

    def _yto(self, parts, text):
        method, version, key, code = parts
        body = json.loads(text)
        if (key, code) != (self.yto_key, self.yto_code) or body["sign"] != md5_b64(
            body["param"] + method + version + self.yto_secret
        ):
            return {"success": False, "code": "S03", "message": "签名验证失败"}
        param = json.loads(body["param"])
        if method == "privacy_create_adapter":
            number = "YT" + "".join(random.choice("0123456789") for _ in range(13))
            self.waybills[number] = {
                "reference": param["logisticsNo"],
                "sender_city": param["senderCityName"],
                "sender_street": param["senderAddress"],
                "recipient_name": param["recipientName"],
                "recipient_city": param["recipientCityName"],
                "items": [(g["name"], g["quantity"]) for g in param["goods"]],
            }
            return {"logisticsNo": param["logisticsNo"], "mailNo": number, "shortAddress": ROUTE_CODE["yto"]}
        if method == "track_query_adapter":
            number = param["NUMBER"]
            steps = [
                {
                    "waybill_No": number,
                    "upload_Time": beijing(s.at),
                    "infoContent": CODES["yto"][s.kind],
                    "processInfo": s.remark,
                    "city": s.city,
                }
                for s in self.scans.get(number, [])
            ]
            return steps or {"code": "1001", "map": {number: []}, "message": "查询结果为空。", "success": True}
        return {"success": False, "code": "S404", "message": "no such method"}


def form(fields: dict[str, str]) -> bytes:
    return urlencode(fields).encode()
