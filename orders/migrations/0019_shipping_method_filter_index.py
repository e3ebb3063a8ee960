"""The admin's shipping-method filter at a million orders: the orders sent any way but the standard one (the
few), newest first, in a partial index. The standard ones are most orders, so their filter walks the
created_at index and stops at the page; without this, the express filter read every order twice (the bounded
count and the page: 338 ms at a million with none to find). A standard order, most of them, costs the index
nothing to write. Built CONCURRENTLY, as 0015's: the orders table stays writable."""

from django.db import migrations

INDEX = "order_method_created"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON orders_order (created_at) "
        "WHERE shipping_method <> 'standard'"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY
    dependencies = [("orders", "0018_unread_indexes")]
    operations = [migrations.RunPython(create, drop, elidable=False)]
