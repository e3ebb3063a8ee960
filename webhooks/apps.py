from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self):
        from core.dashboard import todos_add
        from core.health import Panel, panel_add
        from core.metrics import gauges_add

        from .handlers import register
        from .metrics import webhook_gauges
        from .todos import TODOS, failures

        register()
        todos_add(TODOS)
        panel_add(Panel("webhooks", _("Webhooks"), failures, rank=65))
        gauges_add(webhook_gauges)
