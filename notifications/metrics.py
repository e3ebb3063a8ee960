from django.db.models import Count
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily

from core.metrics import ScrapeGauge

from .models import Notification


class _FailedNotifications:
    """Read from the rows, which workers on any host write: messages given up on, by channel (a staff resend
    takes one back, so the count can drop by that)."""

    def collect(self):
        family = CounterMetricFamily(
            "shop_notifications_failed", "Messages given up on, by channel", labels=["channel"]
        )
        rows = Notification.objects.filter(status="failed").values("channel").annotate(n=Count("id")).order_by()
        for row in rows:
            family.add_metric([row["channel"]], row["n"])
        yield family


def notification_gauges(registry: CollectorRegistry) -> None:
    queued = ScrapeGauge("shop_notifications_queued", "Notifications waiting to be sent", registry=registry)
    queued.set(Notification.objects.filter(status="queued").count())
    registry.register(_FailedNotifications())
