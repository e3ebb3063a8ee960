"""Indexes for the admin at a million orders: trigram indexes for searching a part of a number, name, e-mail or
phone (Django's icontains is UPPER(col) LIKE UPPER('%…%')), and the list filters beside the newest-first order.
PostgreSQL only (pg_trgm); `make run`'s SQLite scans its few demo orders. Built CONCURRENTLY: an existing
shop's orders table stays writable while they build."""

from django.db import migrations

TRIGRAM = ["number", "customer_name", "customer_email", "customer_phone"]
FILTERS = ["status", "payment_status", "shipping_status"]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in TRIGRAM:
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS order_{column}_trgm ON orders_order "
            f"USING gin (UPPER({column}) gin_trgm_ops)"
        )
    for column in FILTERS:
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS order_{column}_created ON orders_order ({column}, created_at)"
        )
    # the few orders held for review: the customer-service to-do list and its filter
    schema_editor.execute(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS order_review_held ON orders_order (created_at) "
        "WHERE review_status = 'held'"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in [f"order_{c}_trgm" for c in TRIGRAM] + [f"order_{c}_created" for c in FILTERS] + ["order_review_held"]:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY
    dependencies = [("orders", "0014_processing_time")]
    operations = [migrations.RunPython(create, drop, elidable=False)]
