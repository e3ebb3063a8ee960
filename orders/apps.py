from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders")

    def ready(self):
        from django.urls import reverse

        from core.dashboard import todos_add
        from core.events import subscribe
        from core.metrics import gauges_add, stuck_add

        from .health import health_panels_register
        from .metrics import order_gauges, orders_not_picked, stage_timers_register
        from .services import order_backorders_allocate, order_processing_timed
        from .todos import TODOS

        subscribe("stock.arrived", order_backorders_allocate)
        subscribe("order.processing", order_processing_timed)
        gauges_add(order_gauges)
        stuck_add(
            "not_picked",
            orders_not_picked,
            lambda: reverse("admin:orders_order_changelist") + "?status__exact=confirmed",
        )
        stage_timers_register()
        health_panels_register()
        todos_add(TODOS)
