"""The staff search's columns in a table of their own (OrderSearch), kept by triggers, and its trigram indexes
moved there from the order, where every status change wrote them again. PostgreSQL only, like the indexes of
0015: `make run`'s SQLite scans its few demo orders' own columns (orders.selectors.order_search).

Not atomic, so that placements go on meanwhile: the triggers come first, then the rows of the orders that exist
(a row a trigger wrote meanwhile wins), then the indexes, built CONCURRENTLY, and only then are the order's
dropped. The other lists search an order by its whole number ("=order__number") on a plain UPPER() index.
"""

import django.db.models.deletion
import django.db.models.functions.text
from django.db import migrations, models

from core.schema import indexes_replaced

COLUMNS = ["number", "customer_id", "customer_name", "customer_email", "customer_phone"]
TRIGRAM = ["number", "customer_name", "customer_email", "customer_phone"]
NUMBER_UPPER = models.Index(django.db.models.functions.text.Upper("number"), name="order_number_upper_idx")
CUSTOMER_ID_UPPER = models.Index(django.db.models.functions.text.Upper("customer_id"), name="order_customer_id_upper_idx")

_NEW = ", ".join(f"NEW.{c}" for c in COLUMNS)
TRIGGERS = f"""
CREATE OR REPLACE FUNCTION orders_search_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO orders_ordersearch (order_id, {", ".join(COLUMNS)}) VALUES (NEW.id, {_NEW});
    ELSE  -- an upsert: the order may predate its row while 0022 fills the table
        INSERT INTO orders_ordersearch (order_id, {", ".join(COLUMNS)}) VALUES (NEW.id, {_NEW})
        ON CONFLICT (order_id) DO UPDATE SET {", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS)};
    END IF;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER order_search_insert AFTER INSERT ON orders_order
    FOR EACH ROW EXECUTE FUNCTION orders_search_kept();
CREATE OR REPLACE TRIGGER order_search_update AFTER UPDATE OF {", ".join(COLUMNS)} ON orders_order FOR EACH ROW
    WHEN (({", ".join(f"OLD.{c}" for c in COLUMNS)}) IS DISTINCT FROM ({_NEW}))
    EXECUTE FUNCTION orders_search_kept();
"""


def postgresql_only(forward, backward):
    def only(sql):
        def run(apps, schema_editor):
            if schema_editor.connection.vendor == "postgresql":
                for statement in sql if isinstance(sql, list) else [sql]:
                    schema_editor.execute(statement)

        return run

    return migrations.RunPython(only(forward), only(backward), elidable=False)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY
    dependencies = [("orders", "0021_partial_expiry_and_coupon_indexes")]
    operations = [
        migrations.CreateModel(
            name="OrderSearch",
            fields=[
                (
                    "order",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="search",
                        serialize=False,
                        to="orders.order",
                    ),
                ),
                ("number", models.CharField(max_length=20)),
                ("customer_id", models.CharField(max_length=64)),
                ("customer_name", models.CharField(max_length=200)),
                ("customer_email", models.CharField(max_length=254)),
                ("customer_phone", models.CharField(max_length=20)),
            ],
            options={
                "indexes": [
                    models.Index(
                        django.db.models.functions.text.Upper("customer_id"), name="ordersearch_customer_id_upper"
                    )
                ],
            },
        ),
        postgresql_only(
            TRIGGERS,
            [
                "DROP TRIGGER IF EXISTS order_search_insert ON orders_order",
                "DROP TRIGGER IF EXISTS order_search_update ON orders_order",
                "DROP FUNCTION IF EXISTS orders_search_kept()",
            ],
        ),
        postgresql_only(
            f"INSERT INTO orders_ordersearch (order_id, {', '.join(COLUMNS)}) "
            f"SELECT id, {', '.join(COLUMNS)} FROM orders_order ON CONFLICT (order_id) DO NOTHING",
            [],
        ),
        postgresql_only(
            [
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS ordersearch_{c}_trgm ON orders_ordersearch "
                f"USING gin (UPPER({c}) gin_trgm_ops)"
                for c in TRIGRAM
            ]
            + ["ANALYZE orders_ordersearch"],
            [f"DROP INDEX CONCURRENTLY IF EXISTS ordersearch_{c}_trgm" for c in TRIGRAM],
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[indexes_replaced("orders.Order", add=[NUMBER_UPPER], drop=[CUSTOMER_ID_UPPER])],
            state_operations=[
                migrations.RemoveIndex(model_name="order", name="order_customer_id_upper_idx"),
                migrations.AddIndex(model_name="order", index=NUMBER_UPPER),
            ],
        ),
        postgresql_only(  # the order's trigram indexes of 0015, last: the search reads the new ones by now
            [f"DROP INDEX CONCURRENTLY IF EXISTS order_{c}_trgm" for c in TRIGRAM],
            [
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS order_{c}_trgm ON orders_order "
                f"USING gin (UPPER({c}) gin_trgm_ops)"
                for c in TRIGRAM
            ],
        ),
    ]
