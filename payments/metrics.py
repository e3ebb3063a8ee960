from django.db.models import Count
from prometheus_client import CollectorRegistry, Gauge

from .models import PaymentEvent


def payment_gauges(registry: CollectorRegistry) -> None:
    callbacks = Gauge(
        "shop_payment_callbacks",
        "Stored gateway callbacks by gateway and outcome",
        ["gateway", "outcome"],
        registry=registry,
    )
    inbound = PaymentEvent.objects.filter(direction="in")
    for row in inbound.values("gateway", "outcome").annotate(n=Count("id")).order_by():
        callbacks.labels(row["gateway"], row["outcome"]).set(row["n"])
