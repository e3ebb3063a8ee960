from django.db.models import Count, Q
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily

from .models import WebhookAttempt


class _Deliveries:
    """Every attempt is a row (written by workers on any host): posts by outcome, counted from them."""

    def collect(self):
        family = CounterMetricFamily("shop_webhook_deliveries", "Webhook posts by outcome", labels=["outcome"])
        counts = WebhookAttempt.objects.aggregate(
            succeeded=Count("id", filter=Q(response_status__gte=200, response_status__lt=300)), all=Count("id")
        )
        family.add_metric(["succeeded"], counts["succeeded"])
        family.add_metric(["failed"], counts["all"] - counts["succeeded"])
        yield family


def webhook_gauges(registry: CollectorRegistry) -> None:
    registry.register(_Deliveries())
