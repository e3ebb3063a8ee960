"""Migration steps for indexes on big, busy tables: a CharField's twin dropped, indexes replaced while the
table stays writable.

The twin: Django gives a CharField with `unique=True` or `db_index=True` a second index on PostgreSQL,
`<name>_like` (varchar_pattern_ops), for `LIKE 'x%'` lookups. Nothing here looks an order number, a payment
reference or a webhook id up by its beginning (the admin's searches use the UPPER() trigram and btree indexes), so
on a table written on every placement or callback the twin was written with each row and each non-HOT update, and
read only where the planner preferred it for `=` over the index it doubles. Those fields declare their index in
Meta instead (a UniqueConstraint, an Index), which has no twin, and this step renames the index that exists to the
declared name rather than building it again: a big table stays writable. SQLite has no twins: nothing to do.
"""

from django.db import migrations

_ONE_COLUMN_INDEXES = """
    SELECT i.relname, c.conname, o.opcname
    FROM pg_index x
    JOIN pg_class i ON i.oid = x.indexrelid
    JOIN pg_opclass o ON o.oid = x.indclass[0]
    JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0]
    LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.contype = 'u'
    WHERE x.indrelid = %s::regclass AND x.indnatts = 1 AND a.attname = %s
      AND x.indpred IS NULL AND x.indexprs IS NULL AND NOT x.indisprimary
"""


def like_twin_dropped(table: str, column: str, name: str) -> migrations.RunPython:
    """Rename the column's own index (its unique constraint, when unique) to `name`, the one the model now
    declares, and drop its `_like` twin. Reversed, the twin is built again (the state goes back to
    unique=True/db_index=True, which Django finds by introspection, whatever the index's name)."""

    def forward(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        quote = schema_editor.quote_name
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(_ONE_COLUMN_INDEXES, [table, column])
            indexes = cursor.fetchall()
        for index, constraint, opclass in indexes:
            if opclass.endswith("_pattern_ops"):
                schema_editor.execute(f"DROP INDEX {quote(index)}")
            elif constraint:
                schema_editor.execute(
                    f"ALTER TABLE {quote(table)} RENAME CONSTRAINT {quote(constraint)} TO {quote(name)}"
                )
            elif index != name:
                schema_editor.execute(f"ALTER INDEX {quote(index)} RENAME TO {quote(name)}")

    def backward(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        twin = schema_editor._create_index_name(table, [column], suffix="_like")
        quote = schema_editor.quote_name
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {quote(twin)} ON {quote(table)} ({quote(column)} varchar_pattern_ops)"
        )

    return migrations.RunPython(forward, backward, elidable=False)


def indexes_replaced(model: str, *, add: list, drop: list) -> migrations.RunPython:
    """Build the `add` indexes of `model` ("app_label.ModelName"), then drop the `drop` ones (by name, if they
    exist: SQLite never had some that PostgreSQL had). On PostgreSQL both CONCURRENTLY — the migration must be
    `atomic = False` — so placements and callbacks go on writing the table meanwhile; then the table is
    analyzed, or the planner has no statistics for a new expression or partial index and guesses. Reversed, the
    dropped indexes are built again first."""

    def replace(apps, schema_editor, add, drop):
        target = apps.get_model(model)
        concurrently = {"concurrently": True} if schema_editor.connection.vendor == "postgresql" else {}
        for index in add:
            schema_editor.add_index(target, index, **concurrently)
        for index in drop:
            how = "CONCURRENTLY IF EXISTS" if concurrently else "IF EXISTS"
            schema_editor.execute(f"DROP INDEX {how} {schema_editor.quote_name(index.name)}")
        if concurrently:
            schema_editor.execute(f"ANALYZE {schema_editor.quote_name(target._meta.db_table)}")

    return migrations.RunPython(
        lambda apps, schema_editor: replace(apps, schema_editor, add, drop),
        lambda apps, schema_editor: replace(apps, schema_editor, drop, add),
        elidable=False,
    )
