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


def failed_messages(since) -> list[dict]:
    """The order-health page: messages given up on in the range, by channel."""
    from django.db.models import Count

    url = reverse("admin:notifications_notification_changelist") + "?status__exact=failed"
    rows = (
        Notification.objects.filter(status="failed", created_at__gte=since)
        .values_list("channel")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = dict(rows)
    return [
        {
            "label": _("Messages given up on: %(channel)s") % {"channel": label},
            "value": counts.get(ch, 0),
            "url": url + f"&channel__exact={ch}",
        }
        for ch, label in (("email", _("e-mail")), ("sms", _("SMS")), ("push", _("push")))
    ]
