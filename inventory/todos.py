from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.dashboard import WAREHOUSE, ToDo

from .models import RestockAlert

TODOS = [
    ToDo(
        WAREHOUSE,
        _("Restock alerts"),
        lambda: RestockAlert.objects.filter(acknowledged=False).count(),
        lambda: reverse("admin:inventory_restockalert_changelist") + "?acknowledged__exact=0",
    ),
]


def restock_alerts(since) -> list[dict]:
    """The order-health page: stock rows at their reorder point, not yet acknowledged."""
    url = reverse("admin:inventory_restockalert_changelist") + "?acknowledged__exact=0"
    return [
        {
            "label": _("Restock alerts open"),
            "value": RestockAlert.objects.filter(acknowledged=False).count(),
            "url": url,
        }
    ]
