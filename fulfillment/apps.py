from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FulfillmentConfig(AppConfig):
    name = "fulfillment"
    verbose_name = _("Fulfillment")

    def ready(self):
        from django.urls import reverse

        from core.dashboard import todos_add
        from core.events import subscribe
        from core.metrics import stuck_add

        from . import selectors, services, tasks
        from .todos import TODOS

        subscribe("order.refunded", services.shipments_stop_for_refund)
        subscribe("order.paid", tasks.fulfillment_requested)
        subscribe("order.released", tasks.fulfillment_requested)
        subscribe("order.backorder_allocated", tasks.fulfillment_requested)
        todos_add(TODOS)
        stuck_add(
            "in_transit_without_news",
            lambda: selectors.shipments_in_transit_without_news().count(),
            lambda: reverse("admin:fulfillment_shipmentattention_changelist"),
        )
