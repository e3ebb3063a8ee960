from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.dashboard import CUSTOMER_SERVICE, ToDo

from .models import Notification, NotificationStatus

TODOS = [
    ToDo(
        CUSTOMER_SERVICE,
        _("Messages that could not be sent"),
        lambda: Notification.objects.filter(status=NotificationStatus.FAILED).count(),
        lambda: reverse("admin:notifications_notification_changelist") + "?status__exact=failed",
    ),
]
