"""core.db.insert_together and insert_one: rows in one statement, exactly as bulk_create and save() write them."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.db import insert_one, insert_together
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


@pytest.mark.django_db
def test_insert_one_writes_the_row_save_would_and_sets_its_id(place, product):
    order = Order.objects.get(number=place().json()["number"])
    entry = transition_log_entry(order, field="note", source="", target="x", name="note", actor="test", reason="原因")
    with CaptureQueriesContext(connection) as captured:
        insert_one(entry)
        insert_one(transition_log_entry(order, field="note", source="x", target="y", name="note", actor="test"))
    assert [q["sql"].split()[0] for q in captured.captured_queries] == ["INSERT", "INSERT"]
    assert entry.pk is not None and not entry._state.adding
    stored = TransitionLog.objects.get(pk=entry.pk)
    assert (stored.reason, stored.target, stored.object_id) == ("原因", "x", str(order.pk))
    assert stored.created_at is not None  # the default filled in, as save() does
    assert TransitionLog.objects.filter(object_id=str(order.pk), transition="note").count() == 2
