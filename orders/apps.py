from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders")

    def ready(self):
        from core.dashboard import todos_add
        from core.events import subscribe
        from core.metrics import gauges_add, stuck_add

        from .metrics import order_gauges, orders_not_picked, stage_timers_register
        from .services import order_backorders_allocate, order_processing_timed
        from .todos import TODOS

        subscribe("stock.arrived", order_backorders_allocate)
        subscribe("order.processing", order_processing_timed)
        gauges_add(order_gauges)
        stuck_add("not_picked", orders_not_picked)
        stage_timers_register()
        todos_add(TODOS)
