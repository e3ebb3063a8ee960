"""The stock item's own product index dropped: stockitem_product_warehouse_uniq starts with the product."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0006_unread_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="stockitem",
            name="product",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="stock_items",
                to="inventory.product",
                verbose_name="product",
            ),
        ),
    ]
