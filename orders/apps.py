from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders")

    def ready(self):
        from core.dashboard import todos_add
        from core.metrics import gauges_add

        from .metrics import order_gauges
        from .todos import TODOS

        gauges_add(order_gauges)
        todos_add(TODOS)
