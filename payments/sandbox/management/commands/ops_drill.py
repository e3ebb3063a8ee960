"""`make drill`: a bounded burst against a running back office (`make run`), so the order-health page, the
metrics and the alerts have something to show — placements (some refused), payments and their signed sandbox
callbacks, a share of them forged as if a gateway's certificate had rotated."""

import io
import json
import random
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from django.core.management import call_command
from django.core.management.base import BaseCommand

from inventory.models import Product
from orders.services import storefront_key_issue

GATEWAYS = ["alipay", "wechatpay", "stripe"]


class Command(BaseCommand):
    help = "Send a bounded burst of placements and callbacks to a running back office (sandbox only)."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000")
        parser.add_argument("--orders", type=int, default=120)
        parser.add_argument("--clients", type=int, default=4)
        parser.add_argument("--forged-share", type=float, default=0.3, help="of WeChat Pay callbacks")

    def handle(self, *args, url, orders, clients, forged_share, **options):
        products = list(Product.objects.filter(is_active=True).values_list("sku", "price"))
        if not products:
            self.stderr.write("no products: run `make run` (it loads the demo catalogue) first")
            return
        key = storefront_key_issue(name="ops-drill")[1]
        session_headers = {"Authorization": f"Token {key}", "Content-Type": "application/json"}
        outcomes, callbacks, seconds = {}, {}, {"place": [], "callback": []}

        def one(i: int) -> None:
            sku, price = random.choice(products)
            price = f"{price:.2f}" if i % 10 else f"{price + 1:.2f}"  # one in ten: a stale storefront price
            body = {
                "customer": {
                    "id": f"drill-{i}",
                    "name": "Drill",
                    "email": f"drill{i}@example.com",
                    "phone": "+8613800138000",
                    "address": {"street": "1 Test Rd", "city": "Shanghai", "postal_code": "200000", "country": "CN"},
                },
                "items": [{"sku": sku, "quantity": 1, "unit_price": price}],
            }
            started = time.perf_counter()
            placed = requests.post(
                f"{url}/api/v1/orders/",
                json=body,
                headers={**session_headers, "Idempotency-Key": f"drill-{time.time_ns()}-{i}"},
                timeout=30,
            )
            seconds["place"].append(time.perf_counter() - started)
            code = "created" if placed.status_code == 201 else placed.json().get("code", str(placed.status_code))
            outcomes[code] = outcomes.get(code, 0) + 1
            if placed.status_code != 201:
                return
            gateway = GATEWAYS[i % len(GATEWAYS)]
            number = placed.json()["number"]
            payment = requests.post(
                f"{url}/api/v1/orders/{number}/payments/",
                json={"gateway": gateway},
                headers=session_headers,
                timeout=30,
            ).json()
            out = io.StringIO()
            call_command(
                "sandbox_callback", payment["reference"], "--gateway", gateway, "--outcome", "success", stdout=out
            )
            signed = json.loads(out.getvalue().strip().splitlines()[-1])
            if gateway == "wechatpay" and random.random() < forged_share:
                signed["headers"]["Wechatpay-Signature"] = signed["headers"]["Wechatpay-Signature"][::-1]
            started = time.perf_counter()
            answer = requests.post(
                url + signed["path"], data=signed["body"].encode(), headers=signed["headers"], timeout=30
            )
            seconds["callback"].append(time.perf_counter() - started)
            label = f"{gateway} {answer.status_code}"
            callbacks[label] = callbacks.get(label, 0) + 1

        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(one, range(orders)))
        for name, values in seconds.items():
            values.sort()
            if values:
                p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
                self.stdout.write(f"{name}: {len(values)} requests, p95 {p95 * 1000:.0f} ms")
        self.stdout.write(f"placements by outcome: {json.dumps(outcomes, sort_keys=True)}")
        self.stdout.write(f"callbacks by gateway and answer: {json.dumps(callbacks, sort_keys=True)}")
        self.stdout.write(f"now open {url}/admin/order-health/ (and /metrics)")
