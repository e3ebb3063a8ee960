"""Run in its own process against a private primary and its streaming replica (tests/test_replica.py): which
pages read from the replica, shown by pausing the replica's replay and placing an order."""

import json
import os
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402
from django.test import Client  # noqa: E402

from orders.models import Order  # noqa: E402
from orders.services import storefront_key_issue  # noqa: E402
from tests.conftest import order_body  # noqa: E402
from tests.factories import ProductFactory, UserFactory, WarehouseFactory, stock  # noqa: E402


def caught_up() -> bool:
    with connections["default"].cursor() as primary, connections["replica"].cursor() as replica:
        primary.execute("SELECT pg_current_wal_lsn()")
        replica.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [primary.fetchone()[0]])
        return replica.fetchone()[0]


def wait(condition, seconds=30):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("the replica did not catch up")
        time.sleep(0.1)


def listed(client, number) -> bool:
    """The order's row is on the admin's list (its link; the number alone is also in the search box)."""
    pk = Order.objects.get(number=number).pk
    return f"/admin/orders/order/{pk}/change/" in client.get(f"/admin/orders/order/?q={number}").content.decode()


call_command("migrate", verbosity=0)
stock(ProductFactory(sku="SKU-001", price="99.00"), WarehouseFactory(code="SH"), 100)
key = storefront_key_issue(name="replica-test")[1]
storefront = Client(HTTP_AUTHORIZATION=f"Token {key}")
staff = Client()
boss = UserFactory(username="boss", is_superuser=True)
staff.force_login(boss)
first = storefront.post("/api/v1/orders/", order_body(), content_type="application/json", HTTP_IDEMPOTENCY_KEY="k1")
wait(caught_up)
result = {"first_listed": listed(staff, first.json()["number"])}

with connections["replica"].cursor() as replica:
    replica.execute("SELECT pg_wal_replay_pause()")
body = order_body(customer={**order_body()["customer"], "id": "c-2"})
placed = storefront.post("/api/v1/orders/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k2")
number = placed.json()["number"]
pk = Order.objects.get(number=number).pk  # the primary has it
result |= {
    "placed": placed.status_code,
    "storefront_reads_it_back": storefront.get(f"/api/v1/orders/{number}/").status_code,
    "listed_while_replica_paused": listed(staff, number),
    "on_replica_while_paused": Order.objects.using("replica").filter(number=number).exists(),
    "order_page_while_paused": number in staff.get(f"/admin/orders/order/{pk}/change/").content.decode(),
    "health_page": staff.get("/admin/order-health/?range=hour").status_code,
    "catalogue": storefront.get("/api/v1/products/").status_code,
}
with connections["replica"].cursor() as replica:
    replica.execute("SELECT pg_wal_replay_resume()")
wait(caught_up)
result["listed_after_resume"] = listed(staff, number)
print(json.dumps(result))
