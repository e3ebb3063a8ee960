"""The warehouse picks, packs and ships; customer service follows shipments."""

from django.db import migrations

from config.permissions import grant_group_permissions

GROUPS = {
    "Warehouse": ["view_shipment", "change_shipment", "pick_shipment", "ship_shipment", "view_shipmentline",
                  "view_trackingevent", "view_shipmentattention"],
    "Customer service": ["view_shipment", "view_shipmentline", "view_trackingevent", "view_shipmentattention"],
}


def grant(apps, schema_editor):
    grant_group_permissions(apps, "fulfillment", GROUPS)


class Migration(migrations.Migration):
    dependencies = [("fulfillment", "0001_initial"), ("orders", "0002_staff_groups")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
