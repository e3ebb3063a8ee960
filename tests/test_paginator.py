"""The admin's counts over big tables (core.paginator) on the real PostgreSQL: exact when cheap, the planner's
estimate when the bounded count runs past its budget, and the budget never outlives the count."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from core.paginator import EstimatedCountPaginator
from inventory.models import Product
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def statement_timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        return cursor.fetchone()[0]


def test_a_cheap_count_is_exact_and_leaves_no_timeout_behind():
    ProductFactory.create_batch(3)
    paginator = EstimatedCountPaginator(Product.objects.order_by("sku"), 50)
    assert paginator.count == 3
    assert statement_timeout() == "0"  # the request's later statements run without the count's budget


def test_a_count_past_its_budget_gives_way_to_the_estimate_and_the_page_still_shows():
    ProductFactory.create_batch(3)
    slow = Product.objects.extra(where=["pg_sleep(0.5) IS NOT NULL"]).order_by("sku")  # 1.5 s to count exactly
    paginator = EstimatedCountPaginator(slow, 2)
    started = time.monotonic()
    count = paginator.count
    assert time.monotonic() - started < 1.0  # cancelled at the budget, not counted to the end
    assert count >= 2  # a page at least, whatever the planner guessed
    assert len(paginator.page(1).object_list) == 2
    assert statement_timeout() == "0"
    with connection.cursor() as cursor:  # the transaction goes on (the count was cancelled in a savepoint)
        cursor.execute("SELECT count(*) FROM inventory_product")
        assert cursor.fetchone()[0] == 3
