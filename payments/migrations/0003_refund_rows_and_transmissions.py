"""Refunds become rows written before the gateway is called (our number is its idempotency key); callbacks
keep the delivery id of gateways that do not sign the whole body; the sandbox ledger knows PayPal's ids."""

import django_fsm
from django.db import migrations, models
from django.db.models import Q

import payments.models


def number_existing_refunds(apps, schema_editor):
    Refund = apps.get_model("payments", "Refund")
    for refund in Refund.objects.filter(number__isnull=True):
        refund.number = f"RF{refund.pk:030d}"
        refund.save(update_fields=["number"])


class Migration(migrations.Migration):
    dependencies = [("payments", "0002_staff_permissions")]

    operations = [
        migrations.AddField(
            model_name="refund",
            name="number",
            field=models.CharField(editable=False, max_length=32, null=True, verbose_name="number"),
        ),
        migrations.RunPython(number_existing_refunds, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="refund",
            name="number",
            field=models.CharField(
                default=payments.models.new_refund_number,
                editable=False,
                max_length=32,
                unique=True,
                verbose_name="number",
            ),
        ),
        migrations.AddField(
            model_name="refund",
            name="status",
            field=django_fsm.FSMField(
                choices=[("pending", "Sent to the gateway"), ("succeeded", "Refunded"), ("failed", "Refused by the gateway")],
                default="succeeded",
                max_length=50,
                protected=True,
                verbose_name="status",
            ),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="refund",
            name="status",
            field=django_fsm.FSMField(
                choices=[("pending", "Sent to the gateway"), ("succeeded", "Refunded"), ("failed", "Refused by the gateway")],
                default="pending",
                max_length=50,
                protected=True,
                verbose_name="status",
            ),
        ),
        migrations.AlterField(
            model_name="refund",
            name="gateway_refund_id",
            field=models.CharField(blank=True, max_length=128, null=True, unique=True, verbose_name="gateway refund id"),
        ),
        migrations.AddField(
            model_name="refund",
            name="error",
            field=models.CharField(blank=True, max_length=500, verbose_name="gateway error"),
        ),
        migrations.AddField(
            model_name="refund",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, verbose_name="updated"),
        ),
        migrations.AddField(
            model_name="paymentevent",
            name="transmission_id",
            field=models.CharField(
                blank=True,
                help_text="The gateway's id of this delivery, where its signature does not cover the whole body.",
                max_length=128,
                verbose_name="transmission id",
            ),
        ),
        migrations.AddField(
            model_name="paymentevent",
            name="body_sha256",
            field=models.CharField(blank=True, max_length=64, verbose_name="body SHA-256"),
        ),
        migrations.AddIndex(
            model_name="paymentevent",
            index=models.Index(
                condition=~Q(transmission_id=""), fields=["gateway", "transmission_id"], name="paymentevent_transmission_idx"
            ),
        ),
        migrations.AddField(
            model_name="sandboxtransaction",
            name="order_id",
            field=models.CharField(blank=True, max_length=64, verbose_name="gateway order id"),
        ),
        migrations.AddField(
            model_name="sandboxtransaction",
            name="refunds",
            field=models.JSONField(blank=True, default=dict, help_text="Refund id → amount.", verbose_name="refunds"),
        ),
    ]
