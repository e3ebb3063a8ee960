"""core.db.insert_together and insert_rows: rows in one statement, exactly as bulk_create and save() write them."""

import copy
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.db import _columns, _together_compile, _together_params, insert_rows, insert_together
from core.fsm import transition_log_entry
from core.models import TransitionLog
from notifications.models import Notification
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
def test_a_statement_compiled_before_gets_the_values_the_orm_would_send(place, product):
    """A shape (tables, row counts) is compiled once; later calls lay out their values themselves, as the ORM's
    compiler does: one row as VALUES, several as one array per column (UNNEST)."""
    placed = Order.objects.get(number=place().json()["number"])

    def groups(n: int, items: int, logs: int):
        order = copy.copy(placed)
        order.id, order.number = placed.pk + 1000 + n, f"{placed.number}-{n}"
        rows = [
            OrderItem(
                order=order,
                product=product,
                sku=product.sku,
                name=f"第{i}件",
                unit_price=Decimal("1.10") * (i + n),
                quantity=i + 1,
                total_price=Decimal("1.10") * (i + n) * (i + 1),
            )
            for i in range(items)
        ]
        log = [
            transition_log_entry(order, field="status", source="", target="pending", name="place", actor=a, reason=r)
            for a, r in [(placed.client, "下单"), ("api:x", "hold")][:logs]
        ]
        return (Order, [order]), (OrderItem, rows), (TransitionLog, log)

    with time_machine.travel("2026-12-01 08:00:00+00:00", tick=False):  # updated_at is set on each call
        for n, (items, logs) in enumerate([(1, 1), (2, 1), (3, 2)]):
            shape = groups(n, items, logs)
            (sql, tables), params = _together_compile(shape, [_columns(model, rows) for model, rows in shape])
            assert sql.count(" UNNEST(") == (items > 1) + (logs > 1)
            assert _together_params(tables, shape) == params
            assert len(params) <= 50  # psycopg keeps the parsed form of a statement of at most 50
            assert '"delivered_at"' not in sql and '"coupon_id"' not in sql  # NULL in every row: left out
            assert '"user_id"' in sql  # the storefront's user, NULL in the second row only

    for n in (10, 11):  # the second is sent from the compiled text
        insert_together(*groups(n, 2, 1))
    second = Order.objects.get(number=f"{placed.number}-11")
    assert [(i.name, i.unit_price, i.quantity, i.total_price) for i in second.items.order_by("id")] == [
        ("第0件", Decimal("12.10"), 1, Decimal("12.10")),
        ("第1件", Decimal("13.20"), 2, Decimal("26.40")),
    ]
    assert second.total == placed.total and second.customer_email == placed.customer_email
    log = TransitionLog.objects.get(object_id=str(second.pk))
    assert (log.reason, log.object_repr) == ("下单", second.number)


@pytest.mark.django_db
def test_insert_rows_writes_the_rows_save_would_and_sets_their_ids(place, product):
    order = Order.objects.get(number=place().json()["number"])
    entry = transition_log_entry(order, field="note", source="", target="x", name="note", actor="test", reason="原因")
    two = [transition_log_entry(order, field="note", source=s, target=s + "!", name="note", actor="t") for s in "ab"]
    with CaptureQueriesContext(connection) as captured:
        insert_rows([entry])
        insert_rows(two)
    assert [q["sql"].split()[0] for q in captured.captured_queries] == ["INSERT", "INSERT"]
    assert entry.pk is not None and not entry._state.adding
    assert [TransitionLog.objects.get(pk=row.pk).target for row in two] == ["a!", "b!"]
    stored = TransitionLog.objects.get(pk=entry.pk)
    assert (stored.reason, stored.target, stored.object_id) == ("原因", "x", str(order.pk))
    assert stored.created_at is not None  # the default filled in, as save() does
    assert TransitionLog.objects.filter(object_id=str(order.pk), transition="note").count() == 3


@pytest.mark.django_db
def test_insert_rows_ignoring_conflicts_skips_the_rows_already_there(place, product):
    order = Order.objects.get(number=place().json()["number"])

    def rows():
        return [Notification(order=order, subject="s", event=e, channel="email", recipient="a@b.c") for e in "xy"]

    insert_rows(rows()[:1], ignore_conflicts=True)
    insert_rows(rows(), ignore_conflicts=True)  # x is there: only y is added
    insert_rows(rows(), ignore_conflicts=True)
    assert sorted(Notification.objects.filter(subject="s").values_list("event", flat=True)) == ["x", "y"]


@pytest.mark.django_db
def test_save_fields_writes_what_save_with_update_fields_would(place, product):
    from django.db import DatabaseError

    from core.db import save_fields

    order = Order.objects.get(number=place().json()["number"])
    before = order.updated_at
    order.customer_name, order.customer_email, order.processing_seconds = "改名", "not-saved@example.com", 1.5
    with CaptureQueriesContext(connection) as captured:
        save_fields(order, ["customer_name", "processing_seconds", "updated_at"])
    assert [q["sql"].split()[0] for q in captured.captured_queries] == ["UPDATE"]
    stored = Order.objects.get(pk=order.pk)
    assert (stored.customer_name, stored.processing_seconds) == ("改名", 1.5)
    assert stored.customer_email != "not-saved@example.com"  # only the fields named
    assert stored.updated_at == order.updated_at > before  # auto_now set, as save() sets it
    item = order.items.first()
    item.order_id, item.quantity = order.pk, 7  # a foreign key named by its field
    save_fields(item, ["order", "quantity"])
    assert order.items.get(pk=item.pk).quantity == 7
    item.delete()
    with pytest.raises(DatabaseError):  # as save(update_fields=…) on a row that is gone
        save_fields(item, ["quantity"])
