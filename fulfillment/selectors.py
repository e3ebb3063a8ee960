from datetime import timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import Shipment, ShipmentStatus


def shipments_in_transit_without_news() -> QuerySet[Shipment]:
    """Handed to a carrier, and no tracking news for SHIPMENT_STALE_HOURS (the orders-stuck metric)."""
    stale = timezone.now() - timedelta(hours=settings.SHIPMENT_STALE_HOURS)
    moving = [ShipmentStatus.SHIPPED, ShipmentStatus.IN_TRANSIT]
    return Shipment.objects.filter(
        Q(status__in=moving, last_event_at__lt=stale)
        | Q(status__in=moving, last_event_at__isnull=True, shipped_at__lt=stale)
    )


def shipments_needing_attention(queryset: QuerySet[Shipment] | None = None) -> QuerySet[Shipment]:
    """In exception, or handed to a carrier with no tracking news for SHIPMENT_STALE_HOURS."""
    queryset = Shipment.objects.all() if queryset is None else queryset
    stale = timezone.now() - timedelta(hours=settings.SHIPMENT_STALE_HOURS)
    moving = [ShipmentStatus.SHIPPED, ShipmentStatus.IN_TRANSIT]
    return queryset.filter(
        Q(status=ShipmentStatus.EXCEPTION)
        | Q(status__in=moving, last_event_at__lt=stale)
        | Q(status__in=moving, last_event_at__isnull=True, shipped_at__lt=stale)
    )
