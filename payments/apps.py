from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Payments")

    def ready(self):
        from core.dashboard import todos_add
        from core.metrics import gauges_add

        from .metrics import payment_gauges
        from .todos import TODOS

        gauges_add(payment_gauges)
        todos_add(TODOS)
