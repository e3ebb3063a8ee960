"""Every index on the tables written per placement, callback, webhook or tracking poll earns its writes."""

from importlib import import_module

import pytest
from django.apps import apps
from django.db import connection, transaction

from core.schema import like_twin_dropped

# The tables a placement, a callback, its apply, a webhook or a tracking poll writes rows into.
HOT_MODELS = [
    "orders.Order",
    "orders.OrderItem",
    "orders.OrderSearch",
    "orders.IdempotencyKey",
    "core.TransitionLog",
    "inventory.StockItem",
    "inventory.Reservation",
    "inventory.StockMovement",
    "notifications.Notification",
    "payments.Payment",
    "payments.PaymentEvent",
    "webhooks.WebhookEvent",
    "webhooks.WebhookDelivery",
    "fulfillment.Shipment",
    "fulfillment.TrackingEvent",
]

# One row per index: its columns and operator classes as text, so that "a starts b" is a string prefix.
INDEXES = """
    SELECT i.relname, x.indisunique, ' ' || x.indkey::text || ' ', ' ' || x.indclass::text || ' ',
           x.indpred IS NULL AND x.indexprs IS NULL AND am.amname = 'btree',
           EXISTS (SELECT 1 FROM pg_opclass o WHERE o.oid = ANY(x.indclass::oid[]) AND o.opcname LIKE '%%pattern_ops')
    FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_am am ON am.oid = i.relam
    WHERE x.indrelid = %s::regclass
"""


def indexes(table: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(INDEXES, [table])
        return cursor.fetchall()


def needless(table: str) -> list[str]:
    """A varchar_pattern_ops twin (nothing looks these values up by their beginning), or a plain btree index
    whose columns start another one's: the longer serves every lookup the shorter does."""
    found = indexes(table)
    found_needless = [f"{name}: a varchar_pattern_ops twin" for name, *_rest, twin in found if twin]
    for name, unique, columns, classes, plain, _twin in found:
        for other, _u, other_columns, other_classes, other_plain, _t in found:
            if (
                other != name
                and plain
                and other_plain
                and not unique
                and other_columns.startswith(columns)
                and other_classes.startswith(classes)
            ):
                found_needless.append(f"{name}: {other} starts with its columns")
    return found_needless


@pytest.mark.django_db
def test_no_index_on_a_hot_table_is_written_for_nothing():
    tables = [apps.get_model(label)._meta.db_table for label in HOT_MODELS]
    assert {table: needless(table) for table in tables} == {table: [] for table in tables}
    # and the declared replacements are the indexes that serve the lookups
    assert {name for name, unique, *_ in indexes("orders_order") if unique} >= {
        "orders_order_pkey",
        "order_number_uniq",
    }


@pytest.mark.django_db
def test_the_migration_step_renames_the_index_and_drops_its_twin_and_reverses():
    """core.schema's step on the order number, backward (the twin back, as Django made it) and forward again,
    inside a transaction rolled back (PostgreSQL's DDL is transactional)."""
    step = like_twin_dropped("orders_order", "number", "order_number_uniq")

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        with connection.schema_editor(atomic=False) as editor:
            editor.execute("ALTER TABLE orders_order RENAME CONSTRAINT order_number_uniq TO orders_order_number_key")
            step.reverse_code(apps, editor)
        assert any(twin for *_, twin in indexes("orders_order"))
        assert needless("orders_order") == [
            f"{editor._create_index_name('orders_order', ['number'], suffix='_like')}: a varchar_pattern_ops twin"
        ]
        with connection.schema_editor(atomic=False) as editor:
            step.code(apps, editor)
        names = {name for name, *_ in indexes("orders_order")}
        assert "order_number_uniq" in names and "orders_order_number_key" not in names
        assert needless("orders_order") == []
        raise Rollback


@pytest.mark.django_db(transaction=True)
def test_indexes_are_replaced_outside_a_transaction_and_back():
    """core.schema.indexes_replaced as orders 0021 runs it (CREATE INDEX CONCURRENTLY cannot run in a
    transaction): backward, the whole-table indexes back; forward, the partial ones in their place."""
    step = import_module("orders.migrations.0021_partial_expiry_and_coupon_indexes").Migration.operations[0]
    step = step.database_operations[0]
    partial = {"order_pending_expiry_idx", "order_coupon_idx"}
    whole = {"order_expiry_idx", "orders_order_coupon_id_5bddb887"}

    with connection.schema_editor(atomic=False) as editor:
        step.reverse_code(apps, editor)
    names = {name for name, *_ in indexes("orders_order")}
    assert whole <= names and not partial & names

    with connection.schema_editor(atomic=False) as editor:
        step.code(apps, editor)
    names = {name for name, *_ in indexes("orders_order")}
    assert partial <= names and not whole & names
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY(%s)", [list(partial)])
        assert {name: " WHERE " in definition for name, definition in cursor.fetchall()} == dict.fromkeys(partial, True)


@pytest.mark.django_db
def test_a_shop_upgrading_gets_a_search_row_for_every_order_it_has(place, product):
    """orders 0022 on a shop with orders: its triggers, then its fill (a row a trigger wrote meanwhile stays)."""
    from orders.models import Order, OrderSearch
    from tests.conftest import order_body

    def placed(email: str) -> int:
        body = order_body(allow_duplicate=True, customer={**order_body()["customer"], "email": email})
        return Order.objects.get(number=place(body).json()["number"]).pk

    migration = import_module("orders.migrations.0022_order_search_table").Migration
    triggers, fill = migration.operations[1:3]
    with connection.schema_editor(atomic=False) as editor:
        triggers.reverse_code(apps, editor)
    before = placed("before@example.com")
    assert not OrderSearch.objects.exists()  # no trigger, no row
    with connection.schema_editor(atomic=False) as editor:
        triggers.code(apps, editor)
    meanwhile = placed("meanwhile@example.com")
    with connection.schema_editor(atomic=False) as editor:
        fill.code(apps, editor)
    assert dict(OrderSearch.objects.values_list("order_id", "customer_email")) == {
        before: "before@example.com",
        meanwhile: "meanwhile@example.com",
    }
