"""Staff groups get exactly their rows of config.permissions.STAFF_ACCESS (Warehouse no longer edits orders;
printing picking lists and labels is Warehouse's; only Customer service corrects customer details)."""

from django.db import migrations

from config.permissions import groups_sync


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0006_order_edits"),
        ("inventory", "0003_warehouse_address"),
        ("payments", "0003_refund_rows_and_transmissions"),
        ("fulfillment", "0003_shipment_cancelled_and_printing"),
        ("notifications", "0002_staff_permissions"),
    ]

    operations = [migrations.RunPython(groups_sync, migrations.RunPython.noop)]
