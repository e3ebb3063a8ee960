"""The Celery app; the beat schedule lives here in code (django-celery-beat is not needed yet)."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("shop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    "close-expired-orders": {"task": "orders.tasks.close_expired_orders", "schedule": 60.0},
    "query-stale-payments": {"task": "payments.tasks.query_stale_payments", "schedule": 120.0},
    "sweep-unfulfilled-orders": {"task": "fulfillment.tasks.sweep_unfulfilled", "schedule": 300.0},
    "poll-tracking": {"task": "fulfillment.tasks.poll_tracking", "schedule": 900.0},
    "complete-delivered-orders": {"task": "orders.tasks.complete_delivered_orders", "schedule": crontab(minute=5)},
    "sweep-notifications": {"task": "notifications.tasks.sweep_notifications", "schedule": 60.0},
    "purge-idempotency-keys": {"task": "orders.tasks.purge_idempotency_keys", "schedule": crontab(minute=17)},
}
