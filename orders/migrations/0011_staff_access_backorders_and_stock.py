"""Staff groups get the back-order queue and the Warehouse's receive/move/count permission."""

from django.db import migrations

from config.permissions import groups_sync


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0010_backorders_and_stock_moves"),
        ("inventory", "0005_backorders_and_stock_moves"),
        ("notifications", "0003_backorders_and_stock_moves"),
    ]

    operations = [migrations.RunPython(groups_sync, migrations.RunPython.noop)]
