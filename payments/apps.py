from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Payments")

    def ready(self):
        from core.metrics import gauges_add

        from .metrics import payment_gauges

        gauges_add(payment_gauges)
