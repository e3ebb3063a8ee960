from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FulfillmentConfig(AppConfig):
    name = "fulfillment"
    verbose_name = _("Fulfillment")

    def ready(self):
        from core.dashboard import todos_add
        from core.events import subscribe

        from . import services, tasks
        from .todos import TODOS

        subscribe("order.refunded", services.shipments_stop_for_refund)
        subscribe("order.paid", tasks.fulfillment_requested)
        subscribe("order.released", tasks.fulfillment_requested)
        subscribe("order.backorder_allocated", tasks.fulfillment_requested)
        todos_add(TODOS)
