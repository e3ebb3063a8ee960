from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.dashboard import WAREHOUSE, ToDo

from .models import Shipment, ShipmentStatus
from .selectors import shipments_needing_attention


def _shipments(status: str, rank: int):
    return ToDo(
        WAREHOUSE,
        {
            ShipmentStatus.PENDING: _("To pick"),
            ShipmentStatus.PICKING: _("To pack"),
            ShipmentStatus.PACKED: _("To ship"),
        }[status],
        lambda: Shipment.objects.filter(status=status).count(),
        lambda: reverse("admin:fulfillment_shipment_changelist") + f"?status__exact={status}",
        rank=rank,
    )


TODOS = [
    _shipments(ShipmentStatus.PENDING, 10),
    _shipments(ShipmentStatus.PICKING, 11),
    _shipments(ShipmentStatus.PACKED, 12),
    ToDo(
        WAREHOUSE,
        _("Stuck shipments"),
        lambda: shipments_needing_attention().count(),
        lambda: reverse("admin:fulfillment_shipmentattention_changelist"),
    ),
]
