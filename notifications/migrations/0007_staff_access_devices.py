"""Customer service sees the customers' registered devices."""

from django.db import migrations

from config.permissions import groups_sync


class Migration(migrations.Migration):
    dependencies = [("notifications", "0006_devices"), ("orders", "0013_staff_access_returns")]

    operations = [migrations.RunPython(groups_sync, migrations.RunPython.noop)]
