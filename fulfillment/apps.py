from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FulfillmentConfig(AppConfig):
    name = "fulfillment"
    verbose_name = _("Fulfillment")

    def ready(self):
        from orders.signals import order_refunded

        from .services import shipments_stop_for_refund

        order_refunded.connect(shipments_stop_for_refund, dispatch_uid="fulfillment.stop_for_refund")
