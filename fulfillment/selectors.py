from datetime import timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import Shipment, ShipmentStatus


def _without_news() -> Q:
    """Handed to a carrier, and no tracking news for SHIPMENT_STALE_HOURS."""
    stale = timezone.now() - timedelta(hours=settings.SHIPMENT_STALE_HOURS)
    moving = [ShipmentStatus.SHIPPED, ShipmentStatus.IN_TRANSIT]
    return Q(status__in=moving, last_event_at__lt=stale) | Q(
        status__in=moving, last_event_at__isnull=True, shipped_at__lt=stale
    )


def shipments_in_transit_without_news() -> QuerySet[Shipment]:
    """The orders-stuck metric's kind `in_transit_without_news`."""
    return Shipment.objects.filter(_without_news())


def shipments_needing_attention(queryset: QuerySet[Shipment] | None = None) -> QuerySet[Shipment]:
    """In exception, or handed to a carrier with no tracking news for SHIPMENT_STALE_HOURS."""
    queryset = Shipment.objects.all() if queryset is None else queryset
    return queryset.filter(Q(status=ShipmentStatus.EXCEPTION) | _without_news())
