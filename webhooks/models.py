import base64
import secrets

from django.core.validators import URLValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition


class EventType(models.TextChoices):
    """The contract's event types, in words for staff."""

    ORDER_PLACED = "order.placed", _("Order placed")
    ORDER_PAID = "order.paid", _("Order paid")
    ORDER_CANCELLED = "order.cancelled", _("Order cancelled")
    ORDER_CLOSED = "order.closed", _("Order closed unpaid")
    ORDER_BACKORDERED = "order.backordered", _("Order back-ordered")
    ORDER_SHIPPED = "order.shipped", _("Order shipped")
    ORDER_DELIVERED = "order.delivered", _("Order delivered")
    ORDER_COMPLETED = "order.completed", _("Order completed")
    ORDER_REFUNDED = "order.refunded", _("Order refunded")
    SHIPMENT_UPDATED = "shipment.updated", _("Shipment updated")
    RETURN_REQUESTED = "return.requested", _("Return requested")
    RETURN_APPROVED = "return.approved", _("Return approved")
    RETURN_REJECTED = "return.rejected", _("Return rejected")
    RETURN_REFUNDED = "return.refunded", _("Return refunded")


def new_secret() -> str:
    """Standard Webhooks' form: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def new_message_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


class EndpointStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    DISABLED = "disabled", _("Disabled")


class WebhookEndpoint(FSMModelMixin, models.Model):
    """A system that wants to hear about orders (the storefront, an ERP), and the events it wants."""

    url = models.URLField(_("URL"), max_length=500, validators=[URLValidator(schemes=["http", "https"])])
    description = models.CharField(_("description"), max_length=200, blank=True)
    events = models.JSONField(
        _("events"), default=list, blank=True, help_text=_("The event types it receives; none ticked: all of them.")
    )
    secret = models.CharField(_("signing secret"), max_length=100, default=new_secret, editable=False)
    status = FSMField(_("status"), default=EndpointStatus.ACTIVE, choices=EndpointStatus.choices, protected=True)
    failing_since = models.DateTimeField(
        _("failing since"), null=True, blank=True, help_text=_("Every attempt has failed since then.")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["url", "id"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self):
        return self.url

    def wants(self, event_type: str) -> bool:
        return not self.events or event_type in self.events

    @transition(status, source=EndpointStatus.ACTIVE, target=EndpointStatus.DISABLED)
    def disable(self):
        """Every attempt failed for WEBHOOK_DISABLE_AFTER_DAYS."""

    @transition(
        status,
        source=EndpointStatus.DISABLED,
        target=EndpointStatus.ACTIVE,
        permission="webhooks.change_webhookendpoint",
    )
    def enable(self):
        pass


class WebhookEvent(models.Model):
    """Something that happened to an order, recorded with the change itself: the body every endpoint gets,
    signed per attempt. The integer id orders the events of one order; `message_id` is the `webhook-id`."""

    message_id = models.CharField(_("webhook id"), max_length=40, default=new_message_id)
    type = models.CharField(_("event"), max_length=30, choices=EventType.choices)
    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, related_name="+", db_index=False, verbose_name=_("order")
    )
    body = models.TextField(_("body"))
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        # a constraint, not unique=True: no varchar_pattern_ops twin written with each event (core.schema)
        constraints = [models.UniqueConstraint(fields=["message_id"], name="webhook_event_message_id_uniq")]
        indexes = [models.Index(fields=["order", "id"], name="webhook_event_order_idx")]

    def __str__(self):
        return f"{self.get_type_display()} · {self.message_id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Delivered")
    FAILED = "failed", _("Failed")


class WebhookDelivery(FSMModelMixin, models.Model):
    """One event to one endpoint: written in the causing transaction, retried by due time until it succeeds
    or the schedule runs out."""

    # No index of their own: webhook_delivery_once starts with the event, webhook_delivery_order_idx with the
    # endpoint, and serve their lookups (an event's deliveries, an endpoint's, the cascades) as well.
    event = models.ForeignKey(
        WebhookEvent, on_delete=models.CASCADE, related_name="deliveries", db_index=False, verbose_name=_("event")
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", db_index=False, verbose_name=_("endpoint")
    )
    # The event's order, copied so "an earlier delivery of this order is still pending" is one index lookup.
    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, related_name="+", db_index=False, verbose_name=_("order")
    )
    status = FSMField(_("status"), default=DeliveryStatus.PENDING, choices=DeliveryStatus.choices, protected=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    last_response_status = models.PositiveIntegerField(_("last answer"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        permissions = [("redeliver_webhookdelivery", _("Can redeliver webhooks"))]
        constraints = [models.UniqueConstraint(fields=["event", "endpoint"], name="webhook_delivery_once")]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due_idx"),
            models.Index(fields=["endpoint", "order", "status", "event"], name="webhook_delivery_order_idx"),
        ]

    def __str__(self):
        return f"{self.event} → {self.endpoint}"

    @transition(status, source=DeliveryStatus.PENDING, target=DeliveryStatus.SUCCEEDED)
    def succeed(self):
        pass

    @transition(status, source=DeliveryStatus.PENDING, target=DeliveryStatus.FAILED)
    def give_up(self):
        """The retry schedule ran out (or the endpoint was disabled)."""

    @transition(
        status,
        source=[DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED],
        target=DeliveryStatus.PENDING,
        permission="webhooks.redeliver_webhookdelivery",
    )
    def redeliver(self):
        pass


class WebhookAttempt(models.Model):
    """One POST to the endpoint and what it answered (or why there was no answer)."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_rows", verbose_name=_("delivery")
    )
    attempted_at = models.DateTimeField(_("time"), default=timezone.now)
    response_status = models.PositiveIntegerField(_("answer"), null=True, blank=True)
    response_excerpt = models.CharField(_("answer excerpt"), max_length=500, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)

    class Meta:
        ordering = ["attempted_at", "id"]
        verbose_name = _("attempt")
        verbose_name_plural = _("attempts")

    def __str__(self):
        return f"{self.attempted_at:%Y-%m-%d %H:%M:%S} {self.response_status or self.error}"
