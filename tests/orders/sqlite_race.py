"""Run by test_storefront_boundary in a process of its own on a fresh SQLite file (`make run`'s database):
10 double clicks under fresh keys and 6 identical allowed duplicates, from real threads. Prints JSON."""

import json
import os

import django


def main() -> None:
    assert os.environ["DATABASE_URL"].startswith("sqlite:")
    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from orders.services import storefront_key_issue
    from tests.conftest import order_body, storefront_client
    from tests.factories import ProductFactory, WarehouseFactory, stock
    from tests.orders.test_concurrency import run_threads

    call_command("migrate", verbosity=0)
    product = ProductFactory(sku="SKU-001", price="99.00", max_quantity_per_order=5)
    stock(product, WarehouseFactory(code="SH", priority=1), 100)
    _key, token = storefront_key_issue(name="sqlite-shop")
    connections.close_all()

    def click(i):
        pair = i // 2
        body = order_body(customer={**order_body()["customer"], "id": f"dbl-{pair}"})
        r = storefront_client(token).post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY=f"k{i}")
        return pair, r.status_code, r.json().get("code")

    def allowed(i):
        body = order_body(allow_duplicate=True, customer={**order_body()["customer"], "id": "again"})
        r = storefront_client(token).post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY=f"a{i}")
        return r.status_code, r.json().get("warnings", [])

    clicks = run_threads(20, click)
    repeats = run_threads(6, allowed)
    from orders.models import Order

    print(
        json.dumps(
            {
                "pairs": [sorted([code, c] for p, code, c in clicks if p == pair) for pair in range(10)],
                "held": sum(1 for code, warnings in repeats if code == 201 and "held_for_review" in warnings),
                "orders": Order.objects.count(),
                "reserved": product.stock_items.get().reserved,
            }
        )
    )


if __name__ == "__main__":
    main()
