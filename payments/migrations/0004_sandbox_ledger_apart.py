"""The sandbox ledger lives in `payments.sandbox` now (copied there first when that app is installed)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("payments", "0003_refund_rows_and_transmissions")]

    operations = [migrations.DeleteModel(name="SandboxTransaction")]
