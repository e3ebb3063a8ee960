"""A placement's hand-written statements, once psycopg has prepared them, keep one generic plan: written with
arrays of unknown length, PostgreSQL judged the generic plan dearer and planned them anew on every placement."""

import copy

import pytest
from django.db import connection

from inventory.models import Product, StockItem
from tests.conftest import order_body


@pytest.mark.django_db
def test_the_stock_and_read_statements_are_planned_once_per_connection(place, product):
    # a catalogue with statistics, as in a shop: on a few rows every plan costs the same
    others = Product.objects.bulk_create(Product(sku=f"X-{n:05d}", name="x", price=1) for n in range(5000))
    StockItem.objects.bulk_create(
        StockItem(product=p, warehouse_id=product.stock_items.get().warehouse_id) for p in others
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE inventory_product, inventory_stockitem")
    for n in range(12):  # prepared after 5 runs; PostgreSQL tries 5 custom plans before settling
        body = copy.deepcopy(order_body())
        body["customer"]["id"] = f"cust-{n}"
        assert place(body).status_code == 201
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        prepared = cursor.fetchall()
    for marker in ("FOR NO KEY UPDATE", "pg_advisory_xact_lock"):
        (plans,) = [(generic, custom) for statement, generic, custom in prepared if marker in statement]
        assert plans[0] >= 2 and plans[1] <= 5, (marker, plans)
