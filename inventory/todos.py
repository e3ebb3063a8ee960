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
