from datetime import timedelta

from django.conf import settings
from django.db.models import Count
from django.utils import timezone
from prometheus_client import CollectorRegistry, Counter, Histogram

from core.metrics import ScrapeGauge

from .models import PaymentEvent

CALLBACKS = Counter(
    "shop_payment_callbacks_total", "Gateway callbacks answered, by gateway and outcome", ["gateway", "outcome"]
)
CALLBACK_SECONDS = Histogram(
    "shop_callback_seconds",
    "Time to answer a gateway callback",
    ["gateway"],
    buckets=(0.01, 0.025, 0.05, 0.08, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


def payment_gauges(registry: CollectorRegistry) -> None:
    callbacks = ScrapeGauge(
        "shop_payment_callbacks",
        "Stored gateway callbacks by gateway and outcome",
        ["gateway", "outcome"],
        registry=registry,
    )
    inbound = PaymentEvent.objects.filter(direction="in")
    for row in inbound.values("gateway", "outcome").annotate(n=Count("id")).order_by():
        callbacks.labels(row["gateway"], row["outcome"]).set(row["n"])


def orders_awaiting_payment_news() -> int:
    """Orders still pending whose payment attempt is older than the stale-payment query's threshold: paid at
    the gateway perhaps, with the callback lost."""
    from .models import Payment

    cutoff = timezone.now() - timedelta(minutes=settings.PAYMENTS_QUERY_AFTER_MINUTES)
    return (
        Payment.objects.filter(status="pending", order__status="pending", created_at__lt=cutoff)
        .values("order_id")
        .distinct()
        .count()
    )
