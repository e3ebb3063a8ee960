from datetime import datetime, time

from django.db.models import F, QuerySet, Sum
from django.utils import timezone

from orders.models import OrderStatus

from .models import Payment, PaymentStatus


def payments_needing_attention(queryset: QuerySet[Payment] | None = None) -> QuerySet[Payment]:
    """Amount mismatches, late or double payments, and orders paid but awaiting restock."""
    queryset = Payment.objects.all() if queryset is None else queryset
    # Two indexed subqueries united (`> ""`: the attention index): one OR across payments and orders joins every
    # payment to its order.
    flagged = Payment.objects.filter(attention__gt="").order_by().values("pk")
    restock = Payment.objects.filter(order__status=OrderStatus.PENDING_RESTOCK, status=PaymentStatus.PAID)
    return queryset.filter(pk__in=flagged.union(restock.order_by().values("pk")))


def late_payments(queryset: QuerySet[Payment] | None = None) -> QuerySet[Payment]:
    """Paid after the order's reservation ran out, and not yet looked at by finance."""
    queryset = Payment.objects.all() if queryset is None else queryset
    return queryset.filter(attention__gt="", paid_at__gt=F("order__reservation_expires_at"))  # > "": the index


def received_today() -> list[tuple[str, str]]:
    """What each gateway brought in since midnight in the shop's time zone, as (gateway, "1,234.00 CNY")."""
    midnight = timezone.make_aware(datetime.combine(timezone.localdate(), time.min))
    rows = (
        Payment.objects.filter(paid_at__gte=midnight)
        .values("gateway", "currency")
        .annotate(total=Sum("amount"))
        .order_by("gateway", "currency")
    )
    labels = dict(Payment._meta.get_field("gateway").choices)
    return [(str(labels.get(r["gateway"], r["gateway"])), f"{r['total']:,.2f} {r['currency']}") for r in rows]
