from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.dashboard import FINANCE, ToDo

from .models import DeliveryStatus, EndpointStatus, WebhookDelivery, WebhookEndpoint

TODOS = [
    ToDo(
        FINANCE,
        _("Webhook endpoints disabled"),
        lambda: WebhookEndpoint.objects.filter(status=EndpointStatus.DISABLED).count(),
        lambda: reverse("admin:webhooks_webhookendpoint_changelist") + "?status__exact=disabled",
        rank=80,
    ),
    ToDo(
        FINANCE,
        _("Webhook deliveries that failed"),
        lambda: WebhookDelivery.objects.filter(status=DeliveryStatus.FAILED).count(),
        lambda: reverse("admin:webhooks_webhookdelivery_changelist") + "?status__exact=failed",
        rank=81,
    ),
]
