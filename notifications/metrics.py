from prometheus_client import CollectorRegistry, Gauge

from .models import Notification


def notification_gauges(registry: CollectorRegistry) -> None:
    queued = Gauge("shop_notifications_queued", "Notifications waiting to be sent", registry=registry)
    queued.set(Notification.objects.filter(status="queued").count())
