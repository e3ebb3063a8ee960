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


def failures(since) -> list[dict]:
    """The order-health page: webhook deliveries given up on in the range, and disabled endpoints."""
    deliveries = reverse("admin:webhooks_webhookdelivery_changelist") + "?status__exact=failed"
    endpoints = reverse("admin:webhooks_webhookendpoint_changelist") + "?status__exact=disabled"
    failed = WebhookDelivery.objects.filter(status=DeliveryStatus.FAILED, created_at__gte=since).count()
    disabled = WebhookEndpoint.objects.filter(status=EndpointStatus.DISABLED).count()
    return [
        {"label": _("Webhook deliveries failed"), "value": failed, "url": deliveries},
        {"label": _("Webhook endpoints disabled"), "value": disabled, "url": endpoints},
    ]
