from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self):
        from core.dashboard import todos_add
        from core.health import Panel, panel_add
        from core.metrics import gauges_add

        from .handlers import register
        from .metrics import notification_gauges
        from .todos import TODOS, failed_messages

        register()
        gauges_add(notification_gauges)
        todos_add(TODOS)
        panel_add(Panel("messages", _("Customer messages"), failed_messages, rank=60))
