from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Payments")

    def ready(self):
        from core.dashboard import todos_add
        from core.metrics import gauges_add, stuck_add

        from .metrics import orders_awaiting_payment_news, payment_gauges
        from .todos import TODOS

        gauges_add(payment_gauges)
        stuck_add("payment_unconfirmed", orders_awaiting_payment_news)
        todos_add(TODOS)
