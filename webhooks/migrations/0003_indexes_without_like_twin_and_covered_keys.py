"""The webhook id's uniqueness as a constraint (its index renamed, its varchar_pattern_ops twin dropped:
core.schema), and the deliveries' own event and endpoint indexes dropped: the unique (event, endpoint) and
the (endpoint, order, status, event) indexes start with those columns."""

import django.db.models.deletion
import webhooks.models
from django.db import migrations, models

from core.schema import like_twin_dropped


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0002_staff_access")]

    operations = [
        migrations.AlterField(
            model_name="webhookdelivery",
            name="endpoint",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="deliveries",
                to="webhooks.webhookendpoint",
                verbose_name="endpoint",
            ),
        ),
        migrations.AlterField(
            model_name="webhookdelivery",
            name="event",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="deliveries",
                to="webhooks.webhookevent",
                verbose_name="event",
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="webhookevent",
                    name="message_id",
                    field=models.CharField(
                        default=webhooks.models.new_message_id, max_length=40, verbose_name="webhook id"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="webhookevent",
                    constraint=models.UniqueConstraint(fields=("message_id",), name="webhook_event_message_id_uniq"),
                ),
            ],
            database_operations=[
                like_twin_dropped("webhooks_webhookevent", "message_id", "webhook_event_message_id_uniq")
            ],
        ),
    ]
