"""Finance manages webhook endpoints and redelivers."""

from django.db import migrations

from config.permissions import groups_sync


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0001_initial"), ("notifications", "0009_webhook_disabled_alert")]

    operations = [migrations.RunPython(groups_sync, migrations.RunPython.noop)]
