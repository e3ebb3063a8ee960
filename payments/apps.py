from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Payments")

    def ready(self):
        from django.urls import reverse

        from core.dashboard import todos_add
        from core.metrics import gauges_add, stuck_add

        from .metrics import health_panels_register, orders_awaiting_payment_news, payment_gauges
        from .todos import TODOS

        gauges_add(payment_gauges)
        stuck_add(
            "payment_unconfirmed",
            orders_awaiting_payment_news,
            lambda: reverse("admin:payments_payment_changelist") + "?status__exact=pending",
        )
        health_panels_register()
        todos_add(TODOS)
