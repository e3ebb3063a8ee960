from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self):
        from core.dashboard import todos_add
        from core.metrics import gauges_add

        from .handlers import register
        from .metrics import notification_gauges
        from .todos import TODOS

        register()
        gauges_add(notification_gauges)
        todos_add(TODOS)
