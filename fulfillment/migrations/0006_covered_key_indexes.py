"""The parcel's own order index and the tracking event's own parcel index dropped: the unique (order,
warehouse) and (shipment, carrier_event_id) constraints start with those columns and serve their lookups."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("fulfillment", "0005_search_indexes"),
        ("orders", "0020_order_number_without_like_twin"),
    ]

    operations = [
        migrations.AlterField(
            model_name="shipment",
            name="order",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="shipments",
                to="orders.order",
                verbose_name="order",
            ),
        ),
        migrations.AlterField(
            model_name="trackingevent",
            name="shipment",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="events",
                to="fulfillment.shipment",
                verbose_name="shipment",
            ),
        ),
    ]
