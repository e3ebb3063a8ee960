"""Finance reconciles, refunds and replays; customer service may look at payments."""

from django.db import migrations

GROUPS = {
    "Finance": [
        "view_payment", "change_payment", "reconcile_payment", "refund_payment", "replay_paymentevent",
        "view_paymentevent", "view_refund", "view_paymentattention", "change_paymentattention",
        "view_sandboxtransaction",
    ],
    "Customer service": ["view_payment", "view_paymentevent", "view_refund"],
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
        group.permissions.add(*Permission.objects.filter(content_type__app_label="payments", codename__in=codenames))


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
