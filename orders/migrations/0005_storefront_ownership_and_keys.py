"""Storefront ownership and hashed keys.

Orders get the storefront that placed them (from `source`, the storefront user's name). DRF's plain-text
tokens become hashed StorefrontKeys that keep working (found by their first 8 characters), and the
plain-text table is dropped.
"""
import hashlib

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def owners_from_source(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    for user in User.objects.filter(username__startswith="api:"):
        Order.objects.filter(source=user.username, client__isnull=True).update(client=user)


def hash_legacy_tokens(apps, schema_editor):
    connection = schema_editor.connection
    if "authtoken_token" not in connection.introspection.table_names():
        return
    StorefrontKey = apps.get_model("orders", "StorefrontKey")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    with connection.cursor() as cursor:
        cursor.execute("SELECT key, user_id FROM authtoken_token")
        tokens = cursor.fetchall()
    for key, user_id in tokens:
        hashed = "sha512$$" + hashlib.sha512(key.encode()).hexdigest()
        name = User.objects.filter(pk=user_id).values_list("username", flat=True).first() or "legacy"
        StorefrontKey.objects.create(
            id=f"{key[:8]}.{hashed}", prefix=key[:8], hashed_key=hashed, client_id=user_id, name=name[:50]
        )
    schema_editor.execute("DROP TABLE authtoken_token")


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0004_order_language'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='StorefrontKey',
            fields=[
                ('id', models.CharField(editable=False, max_length=150, primary_key=True, serialize=False, unique=True)),
                ('prefix', models.CharField(editable=False, max_length=8, unique=True)),
                ('hashed_key', models.CharField(editable=False, max_length=150)),
                ('created', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('name', models.CharField(default=None, help_text='A free-form name for the API key. Need not be unique. 50 characters max.', max_length=50)),
                ('revoked', models.BooleanField(blank=True, default=False, help_text='If the API key is revoked, clients cannot use it anymore. (This cannot be undone.)')),
                ('expiry_date', models.DateTimeField(blank=True, help_text='Once API key expires, clients cannot use it anymore.', null=True, verbose_name='Expires')),
            ],
            options={
                'verbose_name': 'storefront API key',
                'verbose_name_plural': 'storefront API keys',
                'ordering': ('-created',),
                'abstract': False,
            },
        ),
        migrations.AddField(
            model_name='order',
            name='client',
            field=models.ForeignKey(db_index=False, help_text='The storefront that placed the order; no other storefront can see it.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='storefront'),
        ),
        migrations.AddIndex(
            model_name='order',
            index=models.Index(fields=['client', 'customer_id', 'created_at'], name='order_client_customer_idx'),
        ),
        migrations.AddIndex(
            model_name='order',
            index=models.Index(fields=['client', 'created_at'], name='order_client_created_idx'),
        ),
        migrations.AddField(
            model_name='storefrontkey',
            name='client',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_keys', to=settings.AUTH_USER_MODEL, verbose_name='storefront'),
        ),
        migrations.RunPython(owners_from_source, migrations.RunPython.noop),
        migrations.RunPython(hash_legacy_tokens, migrations.RunPython.noop),
    ]
