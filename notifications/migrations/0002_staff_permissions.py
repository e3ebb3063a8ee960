"""Customer service reads and resends messages; everyone else may read them."""

from django.db import migrations

from config.permissions import grant_group_permissions

GROUPS = {
    "Customer service": ["view_notification", "resend_notification"],
    "Finance": ["view_notification"],
    "Warehouse": ["view_notification"],
}


def grant(apps, schema_editor):
    grant_group_permissions(apps, "notifications", GROUPS)


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_initial"), ("orders", "0002_staff_groups")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
