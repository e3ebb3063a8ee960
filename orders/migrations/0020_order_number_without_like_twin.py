"""The order number's uniqueness as a constraint: its index renamed, its varchar_pattern_ops twin dropped
(core.schema). No index is built: the orders table stays writable."""

import orders.models
from django.db import migrations, models

from core.schema import like_twin_dropped


class Migration(migrations.Migration):
    dependencies = [("orders", "0019_shipping_method_filter_index")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="order",
                    name="number",
                    field=models.CharField(
                        default=orders.models.new_order_number, editable=False, max_length=20, verbose_name="number"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="order",
                    constraint=models.UniqueConstraint(fields=("number",), name="order_number_uniq"),
                ),
            ],
            database_operations=[like_twin_dropped("orders_order", "number", "order_number_uniq")],
        ),
    ]
