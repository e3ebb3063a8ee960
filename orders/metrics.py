from django.db.models import Count
from prometheus_client import CollectorRegistry, Gauge

from .models import Order


def order_gauges(registry: CollectorRegistry) -> None:
    orders = Gauge("shop_orders", "Orders by status", ["status"], registry=registry)
    for row in Order.objects.values("status").annotate(n=Count("id")).order_by():
        orders.labels(row["status"]).set(row["n"])
