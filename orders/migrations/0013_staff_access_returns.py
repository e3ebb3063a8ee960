"""Customer service handles returns; every group sees them (and Finance the sandbox ledger's new home, where
PAYMENTS_SANDBOX installs that app)."""

from django.apps import apps as installed
from django.db import migrations

from config.permissions import groups_sync


class Migration(migrations.Migration):
    dependencies = [("orders", "0012_returns"), ("payments", "0004_sandbox_ledger_apart")] + (
        [("payments_sandbox", "0001_initial")] if installed.is_installed("payments.sandbox") else []
    )

    operations = [migrations.RunPython(groups_sync, migrations.RunPython.noop)]
