from django.db.models import QuerySet

from .models import Order


def order_detail_queryset() -> QuerySet[Order]:
    return Order.objects.select_related("coupon").prefetch_related(
        "items", "payments", "shipments__events", "shipments__warehouse"
    )


def order_list(*, customer_id: str | None = None) -> QuerySet[Order]:
    qs = order_detail_queryset().order_by("-created_at", "-id")
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    return qs
