"""Finance imports settlement files and reads the imports."""

from django.db import migrations

from config.permissions import groups_sync


class Migration(migrations.Migration):
    dependencies = [("payments", "0005_settlement_imports"), ("webhooks", "0002_staff_access")]

    operations = [migrations.RunPython(groups_sync, migrations.RunPython.noop)]
