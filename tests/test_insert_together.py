"""core.db.insert_together: the rows of several tables in one statement, exactly as bulk_create writes them."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.db import insert_together
from core.fsm import transition_log_entry
from core.models import TransitionLog
from orders.models import Order, OrderItem


@pytest.mark.django_db
def test_rows_of_two_tables_in_one_statement_and_a_single_table(place, product):
    order = Order.objects.get(number=place().json()["number"])
    item = OrderItem(
        order=order,
        product=product,
        sku="SKU-001",
        name="贈品",
        unit_price=Decimal("0.01"),
        quantity=3,
        total_price=Decimal("0.03"),
    )
    entry = transition_log_entry(order, field="note", source="", target="x", name="note", actor="test", reason="原因")
    with CaptureQueriesContext(connection) as captured:
        insert_together((OrderItem, [item]), (TransitionLog, [entry]), (TransitionLog, []))
    assert len(captured.captured_queries) == 1 and captured.captured_queries[0]["sql"].startswith("WITH t0 AS (INSERT")
    stored = OrderItem.objects.get(order=order, name="贈品")
    assert (stored.unit_price, stored.quantity, stored.total_price) == (Decimal("0.01"), 3, Decimal("0.03"))
    log = TransitionLog.objects.get(object_id=str(order.pk), transition="note")
    assert log.reason == "原因" and log.created_at is not None  # defaults filled in as bulk_create does
    assert not item._state.adding

    lone = transition_log_entry(order, field="note", source="x", target="y", name="note", actor="test")
    insert_together((TransitionLog, [lone]))
    assert TransitionLog.objects.filter(object_id=str(order.pk), transition="note").count() == 2
