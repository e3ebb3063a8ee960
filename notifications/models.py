from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition


class Event(models.TextChoices):
    ORDER_PLACED = "order_placed", _("Order placed")
    PAYMENT_CONFIRMED = "payment_confirmed", _("Payment confirmed")
    PAYMENT_FAILED = "payment_failed", _("Payment failed")
    ORDER_CANCELLED = "order_cancelled", _("Order cancelled")
    ORDER_CLOSED = "order_closed", _("Order closed unpaid")
    ORDER_REFUNDED = "order_refunded", _("Order refunded")
    RETURN_REQUESTED = "return_requested", _("Return requested")
    RETURN_APPROVED = "return_approved", _("Return approved")
    RETURN_REJECTED = "return_rejected", _("Return rejected")
    RETURN_REFUNDED = "return_refunded", _("Return refunded")
    BACK_ORDERED = "back_ordered", _("Paid, awaiting restock")
    BACKORDER_ALLOCATED = "backorder_allocated", _("Back-order: stock arrived")
    PROCESSING = "processing", _("Being prepared")
    SHIPPED = "shipped", _("Shipped")
    DELIVERY_UPDATE = "delivery_update", _("Delivery update")
    DELIVERED = "delivered", _("Delivered")
    REVIEW_INVITATION = "review_invitation", _("Review invitation")
    RESTOCK_ALERT = "restock_alert", _("Staff: stock at reorder point")
    AMOUNT_MISMATCH = "amount_mismatch", _("Staff: payment amount mismatch")
    LATE_PAYMENT = "late_payment", _("Staff: late payment")
    SHIPMENT_EXCEPTION = "shipment_exception", _("Staff: shipment exception")
    SLOW_PROCESSING = "slow_processing", _("Staff: slow processing")
    WEBHOOK_DISABLED = "webhook_disabled", _("Staff: webhook endpoint disabled")
    SLOW_ORDER = "slow_order", _("Staff: an order was slow to reach the warehouse")
    DAILY_REPORT = "daily_report", _("Staff: daily order-health report")


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    PUSH = "push", _("Push")


class NotificationStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class Notification(FSMModelMixin, models.Model):
    """One message. The row is the truth: written with the change that causes it, unique, so a retried
    task, a replayed callback or a second beat run never sends it twice."""

    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("order"),
    )
    subject = models.CharField(_("subject"), max_length=100, help_text=_("What it is about: an order, a stock row…"))
    event = models.CharField(_("event"), max_length=30, choices=Event.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    recipient = models.CharField(_("recipient"), max_length=254)
    language = models.CharField(_("language"), max_length=10, default="zh-hans")
    context = models.JSONField(_("details"), default=dict, blank=True)
    status = FSMField(
        _("status"), default=NotificationStatus.QUEUED, choices=NotificationStatus.choices, protected=True
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    provider_message_id = models.CharField(_("provider message id"), max_length=200, blank=True)
    due_at = models.DateTimeField(_("due"), default=timezone.now, db_index=True)
    sending_since = models.DateTimeField(_("sending since"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        permissions = [("resend_notification", _("Can resend notifications"))]
        constraints = [
            models.UniqueConstraint(fields=["subject", "event", "channel", "recipient"], name="notification_once")
        ]
        indexes = [models.Index(fields=["status", "due_at"], name="notification_due_idx")]

    def __str__(self):
        return f"{self.get_event_display()} → {self.recipient}"

    @transition(status, source=NotificationStatus.QUEUED, target=NotificationStatus.SENDING)
    def start(self):
        pass

    @transition(status, source=NotificationStatus.SENDING, target=NotificationStatus.SENT)
    def succeed(self):
        pass

    @transition(status, source=NotificationStatus.SENDING, target=NotificationStatus.QUEUED)
    def retry(self):
        """A transient failure, or a worker that died mid-send: try again at `due_at`."""

    @transition(status, source=NotificationStatus.SENDING, target=NotificationStatus.FAILED)
    def fail(self):
        pass

    @transition(
        status,
        source=[NotificationStatus.FAILED, NotificationStatus.SENT, NotificationStatus.CANCELLED],
        target=NotificationStatus.QUEUED,
        permission="notifications.resend_notification",
    )
    def resend(self):
        pass

    @transition(
        status, source=[NotificationStatus.QUEUED, NotificationStatus.SENDING], target=NotificationStatus.CANCELLED
    )
    def cancel(self):
        """No longer true (a review invitation for an order refunded meanwhile), or nobody left to send it to
        (the provider reported the device's token unregistered)."""


class Device(models.Model):
    """A customer's phone registered by their storefront for push messages (one row per token)."""

    class Platform(models.TextChoices):
        FCM = "fcm", _("Firebase (Android, web)")
        JPUSH = "jpush", _("JPush (Android in China)")
        APNS = "apns", _("Apple (iOS)")

    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("storefront")
    )
    customer_id = models.CharField(_("customer id"), max_length=64)
    platform = models.CharField(_("platform"), max_length=10, choices=Platform.choices)
    token = models.CharField(_("token"), max_length=240)
    created_at = models.DateTimeField(_("registered"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        constraints = [models.UniqueConstraint(fields=["client", "platform", "token"], name="device_once")]
        indexes = [models.Index(fields=["client", "customer_id"], name="device_customer_idx")]

    def __str__(self):
        return f"{self.platform}:{self.token[:12]}…"
