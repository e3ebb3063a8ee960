from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = _("Inventory")

    def ready(self):
        from core.dashboard import todos_add
        from core.health import Panel, panel_add

        from .todos import TODOS, restock_alerts

        todos_add(TODOS)
        panel_add(Panel("restock", _("Stock"), restock_alerts, rank=70))
