"""The payment reference's uniqueness as a constraint and the other CharField indexes declared in Meta: each
index renamed, its varchar_pattern_ops twin dropped (core.schema). No index is built."""

import payments.models
from django.db import migrations, models

from core.schema import like_twin_dropped

GATEWAYS = [
    ("alipay", "Alipay"),
    ("wechatpay", "WeChat Pay"),
    ("stripe", "Stripe"),
    ("paypal", "PayPal"),
    ("manual", "Manual (bank transfer)"),
]


class Migration(migrations.Migration):
    dependencies = [("payments", "0009_payment_inbox")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="payment",
                    name="attention",
                    field=models.CharField(
                        blank=True,
                        help_text="Why finance should look at this payment; empty when all is well.",
                        max_length=200,
                        verbose_name="needs attention",
                    ),
                ),
                migrations.AlterField(
                    model_name="payment",
                    name="reference",
                    field=models.CharField(
                        default=payments.models.new_payment_reference, max_length=32, verbose_name="reference"
                    ),
                ),
                migrations.AlterField(
                    model_name="paymentevent",
                    name="gateway",
                    field=models.CharField(choices=GATEWAYS, max_length=20, verbose_name="gateway"),
                ),
                migrations.AlterField(
                    model_name="paymentevent",
                    name="reference",
                    field=models.CharField(blank=True, max_length=64, verbose_name="reference"),
                ),
                migrations.AddIndex(
                    model_name="payment",
                    index=models.Index(fields=["attention"], name="payment_attention_idx"),
                ),
                migrations.AddIndex(
                    model_name="paymentevent",
                    index=models.Index(fields=["gateway"], name="paymentevent_gateway_idx"),
                ),
                migrations.AddIndex(
                    model_name="paymentevent",
                    index=models.Index(fields=["reference"], name="paymentevent_reference_idx"),
                ),
                migrations.AddConstraint(
                    model_name="payment",
                    constraint=models.UniqueConstraint(fields=("reference",), name="payment_reference_uniq"),
                ),
            ],
            database_operations=[
                like_twin_dropped("payments_payment", "reference", "payment_reference_uniq"),
                like_twin_dropped("payments_payment", "attention", "payment_attention_idx"),
                like_twin_dropped("payments_paymentevent", "gateway", "paymentevent_gateway_idx"),
                like_twin_dropped("payments_paymentevent", "reference", "paymentevent_reference_idx"),
            ],
        ),
    ]
