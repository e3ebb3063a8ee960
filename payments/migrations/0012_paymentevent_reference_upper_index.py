"""The payment-event list's search at a million callbacks: Django's "=reference" is UPPER(reference) =
UPPER(%s), which the plain reference index does not serve (686 ms, tests.bench.admin); nothing else read that
index, nor the gateway one (four values: the gateway filter walks the received_at index). An UPPER() index
takes their place: a callback's row writes one index fewer than before. Built CONCURRENTLY on PostgreSQL: the
events table stays writable (callbacks go on) while it builds."""

from django.db import migrations, models
from django.db.models.functions import Upper

INDEX = models.Index(Upper("reference"), name="paymentevent_ref_upper_idx")
UNREAD = [
    models.Index(fields=["gateway"], name="paymentevent_gateway_idx"),
    models.Index(fields=["reference"], name="paymentevent_reference_idx"),
]


def forward(apps, schema_editor):
    model = apps.get_model("payments", "PaymentEvent")
    if schema_editor.connection.vendor != "postgresql":  # (SQLite never had the two: migration 0010 is state only)
        schema_editor.add_index(model, INDEX)
        return
    for index in UNREAD:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {index.name}")
    schema_editor.add_index(model, INDEX, concurrently=True)
    # the expression's statistics now, not at autovacuum's next analyze: without them the planner guesses
    # thousands of matches and scans (as fulfillment 0005)
    schema_editor.execute("ANALYZE payments_paymentevent")


def backward(apps, schema_editor):
    model = apps.get_model("payments", "PaymentEvent")
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.remove_index(model, INDEX)
        return
    schema_editor.remove_index(model, INDEX, concurrently=True)
    for index in UNREAD:
        schema_editor.add_index(model, index, concurrently=True)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY
    dependencies = [("payments", "0011_paymentevent_kind_choices")]
    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forward, backward, elidable=False)],
            state_operations=[
                *(migrations.RemoveIndex(model_name="paymentevent", name=index.name) for index in UNREAD),
                migrations.AddIndex(model_name="paymentevent", index=INDEX),
            ],
        ),
    ]
