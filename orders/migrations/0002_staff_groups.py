"""Staff groups and what each may do. Later features add their permissions in their own migrations."""

from django.db import migrations

GROUPS = {
    "Customer service": [
        "orders.view_order", "orders.change_order", "orders.cancel_order", "orders.review_order",
        "orders.view_orderitem", "orders.view_transitionlog", "orders.view_coupon",
        "orders.view_blockedcustomer", "orders.add_blockedcustomer", "orders.change_blockedcustomer",
        "orders.delete_blockedcustomer",
        "inventory.view_product", "inventory.view_stockitem", "inventory.view_warehouse",
        "inventory.view_reservation",
    ],
    "Finance": [
        "orders.view_order", "orders.export_order", "orders.view_orderitem", "orders.view_transitionlog",
        "orders.view_coupon", "orders.add_coupon", "orders.change_coupon",
        "inventory.view_product", "inventory.view_stockmovement",
    ],
    "Warehouse": [
        "orders.view_order", "orders.change_order", "orders.process_order", "orders.view_orderitem",
        "orders.view_transitionlog",
        "inventory.view_product", "inventory.view_warehouse", "inventory.view_stockitem",
        "inventory.change_stockitem", "inventory.view_stockmovement", "inventory.view_reservation",
        "inventory.view_restockalert", "inventory.change_restockalert",
    ],
}


def create_groups(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for perm in perms:
            app_label, codename = perm.split(".")
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0001_initial"),
        ("inventory", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
