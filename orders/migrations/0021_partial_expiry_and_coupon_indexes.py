"""Two of the order's indexes written only for the rows they serve. The expiry sweep reads pending orders only,
but (status, reservation_expires_at) took an entry for every order, and another on each of its later updates
(paid, shipped, delivered: none is HOT, the status being indexed); the coupon index took a NULL for every order
without one, most of them, and again on each update. Partial indexes are written only while their condition
holds: a callback's update of a pending order to paid writes two index entries fewer. Built CONCURRENTLY on
PostgreSQL (core.schema.indexes_replaced): placements go on meanwhile."""

import django.db.models.deletion
from django.db import migrations, models

from core.schema import indexes_replaced

EXPIRY = models.Index(
    fields=["reservation_expires_at"], condition=models.Q(status="pending"), name="order_pending_expiry_idx"
)
COUPON = models.Index(fields=["coupon"], condition=models.Q(coupon__isnull=False), name="order_coupon_idx")
WHOLE = [
    models.Index(fields=["status", "reservation_expires_at"], name="order_expiry_idx"),
    models.Index(fields=["coupon"], name="orders_order_coupon_id_5bddb887"),  # the ForeignKey's db_index
]


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY
    dependencies = [("orders", "0020_order_number_without_like_twin")]
    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[indexes_replaced("orders.Order", add=[EXPIRY, COUPON], drop=WHOLE)],
            state_operations=[
                migrations.RemoveIndex(model_name="order", name="order_expiry_idx"),
                migrations.AlterField(
                    model_name="order",
                    name="coupon",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="orders",
                        to="orders.coupon",
                        verbose_name="coupon",
                    ),
                ),
                migrations.AddIndex(model_name="order", index=EXPIRY),
                migrations.AddIndex(model_name="order", index=COUPON),
            ],
        ),
    ]
