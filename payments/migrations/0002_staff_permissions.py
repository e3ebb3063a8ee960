"""Finance reconciles, refunds and replays; customer service may look at payments."""

from django.db import migrations

from config.permissions import grant_group_permissions

GROUPS = {
    "Finance": [
        "view_payment", "change_payment", "reconcile_payment", "refund_payment", "replay_paymentevent",
        "view_paymentevent", "view_refund", "view_paymentattention", "change_paymentattention",
        "view_sandboxtransaction",
    ],
    "Customer service": ["view_payment", "view_paymentevent", "view_refund"],
}


def grant(apps, schema_editor):
    grant_group_permissions(apps, "payments", GROUPS)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUPS.items():
        for group in Group.objects.filter(name=name):
            group.permissions.remove(
                *Permission.objects.filter(content_type__app_label="payments", codename__in=codenames)
            )


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_initial"), ("orders", "0002_staff_groups")]

    operations = [migrations.RunPython(grant, revoke)]
