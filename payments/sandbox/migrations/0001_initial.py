"""The sandbox ledger leaves the payments schema for an app of its own; its rows come along."""

from django.db import migrations, models


def copy_ledger(apps, schema_editor):
    try:
        Old = apps.get_model("payments", "SandboxTransaction")
    except LookupError:
        return
    New = apps.get_model("payments_sandbox", "SandboxTransaction")
    fields = ["gateway", "reference", "status", "gateway_txn_id", "order_id", "amount", "currency", "refunded", "refunds"]
    New.objects.bulk_create(New(**{f: getattr(row, f) for f in fields}) for row in Old.objects.iterator())


class Migration(migrations.Migration):
    initial = True

    dependencies = [("payments", "0003_refund_rows_and_transmissions")]
    run_before = [("payments", "0004_sandbox_ledger_apart")]

    operations = [
        migrations.CreateModel(
            name="SandboxTransaction",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "gateway",
                    models.CharField(
                        choices=[
                            ("alipay", "Alipay"),
                            ("wechatpay", "WeChat Pay"),
                            ("stripe", "Stripe"),
                            ("paypal", "PayPal"),
                            ("manual", "Manual (bank transfer)"),
                        ],
                        max_length=20,
                        verbose_name="gateway",
                    ),
                ),
                ("reference", models.CharField(max_length=32, verbose_name="reference")),
                ("status", models.CharField(max_length=20, verbose_name="status")),
                ("gateway_txn_id", models.CharField(max_length=128, verbose_name="gateway transaction id")),
                ("order_id", models.CharField(blank=True, max_length=64, verbose_name="gateway order id")),
                ("amount", models.DecimalField(decimal_places=2, max_digits=12, verbose_name="amount")),
                ("currency", models.CharField(max_length=3, verbose_name="currency")),
                ("refunded", models.DecimalField(decimal_places=2, default=0, max_digits=12, verbose_name="refunded")),
                (
                    "refunds",
                    models.JSONField(blank=True, default=dict, help_text="Refund id → amount.", verbose_name="refunds"),
                ),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated")),
            ],
            options={"verbose_name": "sandbox transaction", "verbose_name_plural": "sandbox transactions"},
        ),
        migrations.AddConstraint(
            model_name="sandboxtransaction",
            constraint=models.UniqueConstraint(
                fields=("gateway", "reference"), name="sandboxtransaction_gateway_reference_uniq"
            ),
        ),
        migrations.RunPython(copy_ledger, migrations.RunPython.noop),
    ]
