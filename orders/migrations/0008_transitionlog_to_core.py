"""TransitionLog now belongs to core (same table): its content type and permissions follow it."""

from django.db import migrations

from config.permissions import groups_sync


def content_type_to_core(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    old = ContentType.objects.filter(app_label="orders", model="transitionlog").first()
    if old is None:
        return
    if ContentType.objects.filter(app_label="core", model="transitionlog").exists():
        old.delete()  # a fresh database made both; groups_sync grants core's
    else:
        old.app_label = "core"
        old.save(update_fields=["app_label"])


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0007_staff_access"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="TransitionLog")]),
        migrations.RunPython(content_type_to_core, migrations.RunPython.noop),
        migrations.RunPython(groups_sync, migrations.RunPython.noop),
    ]
