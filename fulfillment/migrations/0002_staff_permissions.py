"""The warehouse picks, packs and ships; customer service follows shipments."""

from django.db import migrations

GROUPS = {
    "Warehouse": ["view_shipment", "change_shipment", "pick_shipment", "ship_shipment", "view_shipmentline",
                  "view_trackingevent", "view_shipmentattention"],
    "Customer service": ["view_shipment", "view_shipmentline", "view_trackingevent", "view_shipmentattention"],
}


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*Permission.objects.filter(content_type__app_label="fulfillment",
                                                         codename__in=codenames))


class Migration(migrations.Migration):
    dependencies = [("fulfillment", "0001_initial"), ("orders", "0002_staff_groups")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
