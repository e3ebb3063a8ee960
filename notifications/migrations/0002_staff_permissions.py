"""Customer service reads and resends messages; everyone else may read them."""

from django.db import migrations

GROUPS = {
    "Customer service": ["view_notification", "resend_notification"],
    "Finance": ["view_notification"],
    "Warehouse": ["view_notification"],
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
        group.permissions.add(*Permission.objects.filter(content_type__app_label="notifications",
                                                         codename__in=codenames))


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_initial"), ("orders", "0002_staff_groups")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
