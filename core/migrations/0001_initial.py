"""TransitionLog moves here from orders: its table stays where it is (state only)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("orders", "0007_staff_access"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="TransitionLog",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("object_id", models.CharField(max_length=64, verbose_name="object id")),
                        ("object_repr", models.CharField(max_length=100, verbose_name="object")),
                        ("field", models.CharField(max_length=40, verbose_name="field")),
                        ("source", models.CharField(blank=True, max_length=40, verbose_name="from")),
                        ("target", models.CharField(max_length=40, verbose_name="to")),
                        ("transition", models.CharField(max_length=60, verbose_name="transition")),
                        ("actor", models.CharField(max_length=150, verbose_name="actor")),
                        ("reason", models.CharField(blank=True, max_length=500, verbose_name="reason")),
                        (
                            "created_at",
                            models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name="time"),
                        ),
                        (
                            "content_type",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                to="contenttypes.contenttype",
                                verbose_name="object type",
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="user",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "transition log entry",
                        "verbose_name_plural": "transition log",
                        "ordering": ["created_at", "id"],
                        "db_table": "orders_transitionlog",
                        "indexes": [models.Index(fields=["content_type", "object_id"], name="transitionlog_subject_idx")],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
