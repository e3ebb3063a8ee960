from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from prometheus_client import CollectorRegistry, Counter, Histogram

from core.events import subscribe
from core.metrics import ScrapeGauge

from .models import Order
from .selectors import order_reached_at

ORDERS_PLACED = Counter(
    "shop_orders_placed_total", "Placement requests by outcome: created, or the refusal's code", ["outcome"]
)
STAGE_SECONDS = Histogram(
    "shop_order_stage_seconds",
    "Time an order spent between two milestones",
    ["stage"],
    buckets=(60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400, 2 * 86400, 4 * 86400, 7 * 86400, 14 * 86400),
)


def order_gauges(registry: CollectorRegistry) -> None:
    orders = ScrapeGauge("shop_orders", "Orders by status", ["status"], registry=registry)
    for row in Order.objects.values("status").annotate(n=Count("id")).order_by():
        orders.labels(row["status"]).set(row["n"])


def _reached(order: Order, field: str, target: str):
    return order_reached_at(order=order, condition=Q(field=field, target=target))


def _observe(stage: str, since_of):
    def handler(*, order, **payload) -> None:
        since = since_of(order)
        if since is not None:
            seconds = max((timezone.now() - since).total_seconds(), 0)
            transaction.on_commit(lambda: STAGE_SECONDS.labels(stage).observe(seconds))  # not for a rollback

    handler.__qualname__ = f"observe_{stage}"
    return handler


def stage_timers_register() -> None:
    subscribe("order.paid", _observe("placed_to_paid", lambda order: order.created_at))
    subscribe("order.shipped", _observe("paid_to_shipped", lambda order: _reached(order, "payment_status", "paid")))
    subscribe("order.delivered", _observe("shipped_to_delivered", lambda order: _reached(order, "status", "shipped")))


def orders_not_picked() -> int:
    """Paid and confirmed longer than PICK_SLA_HOURS ago, and the warehouse has not started."""
    cutoff = timezone.now() - timedelta(hours=settings.PICK_SLA_HOURS)
    return Order.objects.filter(status="confirmed", updated_at__lt=cutoff).exclude(review_status="held").count()
