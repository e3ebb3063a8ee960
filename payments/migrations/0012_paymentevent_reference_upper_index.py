"""The payment-event list's search at a million callbacks: Django's "=reference" is UPPER(reference) =
UPPER(%s), which the plain reference index does not serve (686 ms, tests.bench.admin); nothing else read that
index, nor the gateway one (four values: the gateway filter walks the received_at index). An UPPER() index
takes their place: a callback's row writes one index fewer than before. Built CONCURRENTLY on PostgreSQL
(core.schema.indexes_replaced): callbacks go on meanwhile."""

from django.db import migrations, models
from django.db.models.functions import Upper

from core.schema import indexes_replaced

INDEX = models.Index(Upper("reference"), name="paymentevent_ref_upper_idx")
UNREAD = [  # (SQLite never had these two: migration 0010 is state only there)
    models.Index(fields=["gateway"], name="paymentevent_gateway_idx"),
    models.Index(fields=["reference"], name="paymentevent_reference_idx"),
]


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY
    dependencies = [("payments", "0011_paymentevent_kind_choices")]
    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[indexes_replaced("payments.PaymentEvent", add=[INDEX], drop=UNREAD)],
            state_operations=[
                *(migrations.RemoveIndex(model_name="paymentevent", name=index.name) for index in UNREAD),
                migrations.AddIndex(model_name="paymentevent", index=INDEX),
            ],
        ),
    ]
