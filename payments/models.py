import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from orders.models import NUMBER_ALPHABET, PaymentStatus  # one set of payment states, order's and payment's


class Gateway(models.TextChoices):
    ALIPAY = "alipay", _("Alipay")
    WECHATPAY = "wechatpay", _("WeChat Pay")
    STRIPE = "stripe", _("Stripe")
    PAYPAL = "paypal", _("PayPal")
    MANUAL = "manual", _("Manual (bank transfer)")


def new_payment_reference() -> str:
    """Our merchant trade number: unique, unguessable, accepted by every gateway (≤ 32 alphanumerics)."""
    return "P" + timezone.now().strftime("%y%m%d") + "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(12))


class Payment(FSMModelMixin, models.Model):
    """One payment attempt of an order at one gateway."""

    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, related_name="payments", verbose_name=_("order")
    )
    gateway = models.CharField(_("gateway"), max_length=20, choices=Gateway.choices)
    reference = models.CharField(_("reference"), max_length=32, default=new_payment_reference)
    gateway_txn_id = models.CharField(_("gateway transaction id"), max_length=128, null=True, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    status = FSMField(_("status"), default=PaymentStatus.PENDING, choices=PaymentStatus.choices, protected=True)
    refunded_amount = models.DecimalField(_("refunded"), max_digits=12, decimal_places=2, default=0)
    action = models.JSONField(_("storefront action"), default=dict, blank=True)
    attention = models.CharField(
        _("needs attention"),
        max_length=200,
        blank=True,
        help_text=_("Why finance should look at this payment; empty when all is well."),
    )
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    # The stale-payment sweep round that last asked the gateway about it: each round asks once.
    query_round = models.UUIDField(_("last query round"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        permissions = [
            ("reconcile_payment", _("Can mark orders paid by hand (reconciliation)")),
            ("refund_payment", _("Can refund payments")),
            ("replay_paymentevent", _("Can replay stored gateway callbacks")),
        ]
        # Indexes declared here rather than with unique=True/db_index=True on their CharFields: those get a
        # varchar_pattern_ops twin on PostgreSQL, written with every row and read by nothing (core.schema).
        constraints = [
            models.UniqueConstraint(fields=["reference"], name="payment_reference_uniq"),
            models.UniqueConstraint(
                fields=["gateway", "gateway_txn_id"],
                condition=Q(gateway_txn_id__isnull=False),
                name="payment_gateway_txn_uniq",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="payment_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(refunded_amount__lte=models.F("amount")), name="payment_refund_within_amount"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="payment_status_created_idx"),
            # the order search finds payments by reference or gateway transaction id, in any case
            models.Index(Upper("reference"), name="payment_reference_upper_idx"),
            models.Index(Upper("gateway_txn_id"), name="payment_txn_idx"),
            models.Index(fields=["paid_at"], name="payment_paid_at_idx"),  # what came in today (finance's home)
            models.Index(fields=["attention"], name="payment_attention_idx"),  # finance's work list
        ]

    def __str__(self):
        return self.reference

    @transition(status, source=[PaymentStatus.PENDING, PaymentStatus.FAILED], target=PaymentStatus.PAID)
    def mark_paid(self):
        """A success may follow a failure of the same attempt (a customer who retried)."""

    @transition(status, source=PaymentStatus.PENDING, target=PaymentStatus.FAILED)
    def fail(self):
        pass

    @transition(status, source=PaymentStatus.PAID, target=PaymentStatus.REFUNDED, permission="payments.refund_payment")
    def refund(self):
        """Fully refunded; partial refunds are Refund rows on a payment that stays paid."""


def new_refund_number() -> str:
    """Our refund id, sent as the gateway's idempotency key / out_refund_no (≤ 32 alphanumerics)."""
    return "RF" + timezone.now().strftime("%y%m%d") + "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(12))


class RefundStatus(models.TextChoices):
    PENDING = "pending", _("Sent to the gateway")
    SUCCEEDED = "succeeded", _("Refunded")
    FAILED = "failed", _("Refused by the gateway")


class Refund(FSMModelMixin, models.Model):
    """One refund, written under the order lock before the gateway is asked, so a second submit finds it."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("payment"))
    number = models.CharField(_("number"), max_length=32, unique=True, default=new_refund_number, editable=False)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    status = FSMField(_("status"), default=RefundStatus.PENDING, choices=RefundStatus.choices, protected=True)
    gateway_refund_id = models.CharField(_("gateway refund id"), max_length=128, unique=True, null=True, blank=True)
    error = models.CharField(_("gateway error"), max_length=500, blank=True)
    actor = models.CharField(_("actor"), max_length=150)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive")]

    def __str__(self):
        return self.number

    @transition(status, source=RefundStatus.PENDING, target=RefundStatus.SUCCEEDED)
    def succeed(self):
        """The gateway refunded it (its answer, or its notification)."""

    @transition(status, source=RefundStatus.PENDING, target=RefundStatus.FAILED)
    def fail(self):
        """The gateway refused it for good; the amount may be refunded again."""


class PaymentEvent(models.Model):
    """Every exchange with a gateway, stored raw before anything is decided. Never deleted."""

    class Direction(models.TextChoices):
        INBOUND = "in", _("Inbound")
        OUTBOUND = "out", _("Outbound")

    class Kind(models.TextChoices):
        CALLBACK = "callback", _("Callback")
        REPLAY = "replay", _("Replayed callback")
        CREATE = "create", _("Payment started")
        QUERY = "query", _("Status query")
        MANUAL = "manual", _("Marked paid by hand")
        REFUND = "refund", _("Refund")
        SETTLEMENT = "settlement", _("Settlement file")

    class Outcome(models.TextChoices):
        RECEIVED = "received", _("Received, not yet processed")
        APPLIED = "applied", _("Applied")
        DUPLICATE = "duplicate", _("Already applied (replay)")
        REJECTED = "rejected", _("Rejected")
        FLAGGED = "flagged", _("Flagged for finance")
        ERROR = "error", _("Error")

    gateway = models.CharField(_("gateway"), max_length=20, choices=Gateway.choices)
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices, default=Direction.INBOUND)
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices, default=Kind.CALLBACK)
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="events", verbose_name=_("payment")
    )
    reference = models.CharField(_("reference"), max_length=64, blank=True)
    event_type = models.CharField(_("event type"), max_length=60, blank=True)
    gateway_txn_id = models.CharField(_("gateway transaction id"), max_length=128, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    headers = models.JSONField(_("headers"), default=dict, blank=True)
    body = models.TextField(_("body"), blank=True)
    transmission_id = models.CharField(
        _("transmission id"),
        max_length=128,
        blank=True,
        help_text=_("The gateway's id of this delivery, where its signature does not cover the whole body."),
    )
    body_sha256 = models.CharField(_("body SHA-256"), max_length=64, blank=True)
    signature_valid = models.BooleanField(_("signature valid"), null=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, default=Outcome.RECEIVED)
    error = models.CharField(_("error"), max_length=500, blank=True)
    actor = models.CharField(_("actor"), max_length=150, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    replay_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replays", verbose_name=_("replay of")
    )
    received_at = models.DateTimeField(_("received"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("payment event")
        verbose_name_plural = _("payment events")
        indexes = [
            models.Index(Upper("reference"), name="paymentevent_ref_upper_idx"),  # the admin's search (any case)
            models.Index(
                fields=["gateway", "transmission_id"],
                condition=~Q(transmission_id=""),
                name="paymentevent_transmission_idx",
            ),
            models.Index(  # the inbox (payments.services.INBOX): callbacks answered, not yet applied
                fields=["payment", "id"],
                condition=Q(direction="in", outcome="received", signature_valid=True),
                name="paymentevent_inbox_idx",
            ),
        ]

    def __str__(self):
        return f"{self.gateway} {self.event_type or self.kind} {self.reference}"


class PaymentAttention(Payment):
    """The finance work list: amount mismatches, late payments, orders paid but awaiting restock."""

    class Meta:
        proxy = True
        verbose_name = _("payment needing attention")
        verbose_name_plural = _("payments needing attention")


class SettlementImport(models.Model):
    """One settlement file finance imported, with every line's outcome (payments/settlement.py)."""

    class Source(models.TextChoices):
        ALIPAY = "alipay", _("Alipay bill (业务明细)")
        WECHATPAY = "wechatpay", _("WeChat Pay bill (交易账单)")
        PLAIN = "plain", _("Plain CSV (reference, amount, currency, transaction_id)")

    source = models.CharField(_("format"), max_length=20, choices=Source.choices)
    file_name = models.CharField(_("file"), max_length=200)
    sha256 = models.CharField(_("file SHA-256"), max_length=64)
    actor = models.CharField(_("imported by"), max_length=150)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    counts = models.JSONField(_("lines by outcome"), default=dict)
    results = models.JSONField(_("lines"), default=list)
    created_at = models.DateTimeField(_("imported"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("settlement import")
        verbose_name_plural = _("settlement imports")

    def __str__(self):
        return f"{self.file_name} ({self.created_at:%Y-%m-%d %H:%M})"
