import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, FSMField, FSMModelMixin, transition
from rest_framework_api_key.models import AbstractAPIKey

# Crockford's base32 without I, L, O, U: nothing to confuse when read over the phone.
NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_order_number() -> str:
    """`YYMMDD-XXXXXXXX`: the date for people, 40 random bits so numbers cannot be guessed."""
    random_part = "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(8))
    return f"{timezone.localdate():%y%m%d}-{random_part}"


class OrderStatus(models.TextChoices):
    PENDING = "pending", _("Pending payment")
    CONFIRMED = "confirmed", _("Confirmed")
    CANCELLED = "cancelled", _("Cancelled")
    CLOSED = "closed", _("Closed (expired)")
    PENDING_RESTOCK = "pending_restock", _("Paid, awaiting restock")
    PROCESSING = "processing", _("Processing")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    COMPLETED = "completed", _("Completed")
    REFUNDED = "refunded", _("Refunded")


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Failed")
    REFUNDED = "refunded", _("Refunded")


class ShippingStatus(models.TextChoices):
    UNFULFILLED = "unfulfilled", _("Unfulfilled")
    PICKING = "picking", _("Picking")
    PACKED = "packed", _("Packed")
    SHIPPED = "shipped", _("Shipped")
    IN_TRANSIT = "in_transit", _("In transit")
    DELIVERED = "delivered", _("Delivered")
    EXCEPTION = "exception", _("Exception")


class ShippingMethod(models.TextChoices):
    STANDARD = "standard", _("Standard")
    EXPRESS = "express", _("Express")


class ReviewStatus(models.TextChoices):
    CLEAR = "clear", _("Not held")
    HELD = "held", _("Held for review")
    RELEASED = "released", _("Released by staff")


class Coupon(models.Model):
    class Kind(models.TextChoices):
        PERCENT = "percent", _("Percent off")
        FIXED = "fixed", _("Fixed amount off")

    code = models.CharField(_("code"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    value = models.DecimalField(_("value"), max_digits=12, decimal_places=2)
    min_subtotal = models.DecimalField(_("minimum subtotal"), max_digits=12, decimal_places=2, default=0)
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    max_uses = models.PositiveIntegerField(_("maximum uses"), null=True, blank=True)
    used_count = models.PositiveIntegerField(_("times used"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        constraints = [
            models.CheckConstraint(condition=Q(value__gte=0), name="coupon_value_not_negative"),
            models.CheckConstraint(
                condition=Q(max_uses__isnull=True) | Q(used_count__lte=models.F("max_uses")),
                name="coupon_used_within_limit",
            ),
        ]

    def __str__(self):
        return self.code


class BlockedCustomer(models.Model):
    """A customer id or e-mail address (lower-cased) that may not place orders."""

    identifier = models.CharField(_("customer id or e-mail"), max_length=254, unique=True)
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["identifier"]
        verbose_name = _("blocked customer")
        verbose_name_plural = _("blocked customers")

    def __str__(self):
        return self.identifier


class Order(FSMModelMixin, models.Model):
    number = models.CharField(_("number"), max_length=20, default=new_order_number, editable=False)
    status = FSMField(_("status"), default=OrderStatus.PENDING, choices=OrderStatus.choices, protected=True)
    payment_status = FSMField(
        _("payment status"), default=PaymentStatus.PENDING, choices=PaymentStatus.choices, protected=True
    )
    shipping_status = FSMField(
        _("shipping status"), default=ShippingStatus.UNFULFILLED, choices=ShippingStatus.choices, protected=True
    )
    review_status = FSMField(_("review"), default=ReviewStatus.CLEAR, choices=ReviewStatus.choices, protected=True)

    client = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        db_index=False,  # led by the composite indexes below
        verbose_name=_("storefront"),
        help_text=_("The storefront that placed the order; no other storefront can see it."),
    )
    # No index of their own on the customer's fields: every INSERT pays for each one, and the admin's search
    # (trigram and UPPER() indexes, migration 0015) and the composite indexes below serve every read.
    customer_id = models.CharField(_("customer id"), max_length=64)
    customer_name = models.CharField(_("customer name"), max_length=200)
    customer_email = models.EmailField(_("e-mail"))
    customer_phone = models.CharField(_("phone"), max_length=20)
    street = models.CharField(_("street"), max_length=255)
    city = models.CharField(_("city"), max_length=100)
    province = models.CharField(_("province"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20)
    country = models.CharField(_("country"), max_length=2)

    shipping_method = models.CharField(
        _("shipping method"), max_length=20, default=ShippingMethod.STANDARD, choices=ShippingMethod.choices
    )
    language = models.CharField(
        _("language"),
        max_length=10,
        default=settings.CUSTOMER_DEFAULT_LANGUAGE,
        choices=settings.LANGUAGES,
        help_text=_("The language of the customer's messages."),
    )
    currency = models.CharField(_("currency"), max_length=3)
    note = models.CharField(_("customer note"), max_length=500, blank=True)
    coupon = models.ForeignKey(  # indexed in order_coupon_idx: the few orders with one
        Coupon,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        db_index=False,
        verbose_name=_("coupon"),
    )
    subtotal = models.DecimalField(_("subtotal"), max_digits=12, decimal_places=2)
    shipping = models.DecimalField(_("shipping"), max_digits=12, decimal_places=2)
    tax = models.DecimalField(_("tax"), max_digits=12, decimal_places=2)
    discount = models.DecimalField(_("discount"), max_digits=12, decimal_places=2)
    total = models.DecimalField(_("total"), max_digits=12, decimal_places=2)

    content_hash = models.CharField(_("content fingerprint"), max_length=64, editable=False)
    source = models.CharField(_("placed through"), max_length=150, blank=True)
    reservation_expires_at = models.DateTimeField(_("reservation expires at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    backordered_at = models.DateTimeField(
        _("back-ordered since"), null=True, blank=True, help_text=_("Paid, but its stock was gone: waiting since.")
    )
    processing_seconds = models.FloatField(
        _("our processing time (s)"),
        null=True,
        blank=True,
        help_text=_("From ready for the warehouse (paid, released or restocked) to picking lists sent."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        permissions = [
            ("cancel_order", _("Can cancel orders")),
            ("review_order", _("Can release orders held for review")),
            ("process_order", _("Can start processing orders")),
            ("export_order", _("Can export orders for finance")),
            ("change_order_contact", _("Can correct the customer's contact details and address")),
        ]
        # A partial index is written only for the rows its condition holds: an order leaves the expiry sweep's
        # when it is paid, and never enters the coupon one without a coupon (migration 0021).
        indexes = [
            models.Index(
                fields=["reservation_expires_at"], condition=Q(status="pending"), name="order_pending_expiry_idx"
            ),
            models.Index(fields=["coupon"], condition=Q(coupon__isnull=False), name="order_coupon_idx"),
            # also the duplicate rule's read (orders.selectors.recent_same_content): a customer has few orders a day
            models.Index(fields=["client", "customer_id", "created_at"], name="order_client_customer_idx"),
            models.Index(fields=["client", "created_at"], name="order_client_created_idx"),
            # what other lists search an order by ("=order__number"); its other searches read OrderSearch
            models.Index(Upper("number"), name="order_number_upper_idx"),
            models.Index(  # the order-health page's processing times
                fields=["-updated_at"], condition=Q(processing_seconds__isnull=False), name="order_processed_idx"
            ),
        ]
        constraints = [
            # a constraint, not unique=True: no varchar_pattern_ops twin to write with every order (core.schema)
            models.UniqueConstraint(fields=["number"], name="order_number_uniq"),
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
        ]

    def __str__(self):
        return self.number

    # --- status: the lifecycle table of the README ---------------------------------------------
    @transition(status, source=OrderStatus.PENDING, target=OrderStatus.CONFIRMED)
    def confirm(self):
        """Payment confirmed by a callback, a gateway query or finance."""

    @transition(status, source=OrderStatus.PENDING, target=OrderStatus.CANCELLED, permission="orders.cancel_order")
    def cancel(self):
        """Customer cancelled, or the payment definitively failed."""

    @transition(status, source=OrderStatus.PENDING, target=OrderStatus.CLOSED)
    def close(self):
        """The reservation expired unpaid."""

    @transition(status, source=[OrderStatus.CLOSED, OrderStatus.CANCELLED], target=OrderStatus.PENDING_RESTOCK)
    def await_restock(self):
        """Paid late, and the stock is gone."""

    @transition(status, source=OrderStatus.PENDING_RESTOCK, target=OrderStatus.CONFIRMED)
    def allocate_restock(self):
        """Stock arrived for every line of a back-ordered order."""

    @transition(status, source=[OrderStatus.CLOSED, OrderStatus.CANCELLED], target=OrderStatus.CONFIRMED)
    def confirm_late(self):
        """Paid late, and the stock could be reserved again."""

    def not_held(self) -> bool:
        return self.review_status != ReviewStatus.HELD

    @transition(
        status,
        source=OrderStatus.CONFIRMED,
        target=OrderStatus.PROCESSING,
        conditions=[not_held],
        permission="orders.process_order",
    )
    def start_processing(self):
        """The picking list went to the warehouse (never while held for review)."""

    @transition(status, source=OrderStatus.PROCESSING, target=OrderStatus.SHIPPED)
    def ship(self):
        """Handed to the carrier with a tracking number."""

    @transition(status, source=OrderStatus.SHIPPED, target=OrderStatus.DELIVERED)
    def deliver(self):
        """The carrier reports delivery."""

    @transition(status, source=OrderStatus.DELIVERED, target=OrderStatus.COMPLETED)
    def complete(self):
        """The after-sales window has passed."""

    @transition(
        status,
        source=[
            OrderStatus.CONFIRMED,
            OrderStatus.PROCESSING,
            OrderStatus.PENDING_RESTOCK,
            OrderStatus.DELIVERED,  # a return refunded everything
            OrderStatus.COMPLETED,
        ],
        target=OrderStatus.REFUNDED,
    )
    def refund(self):
        """Finance refunded the order."""

    # --- payment_status ------------------------------------------------------------------------
    @transition(payment_status, source=[PaymentStatus.PENDING, PaymentStatus.FAILED], target=PaymentStatus.PAID)
    def mark_paid(self):
        """A success may follow a failed attempt."""

    @transition(payment_status, source=PaymentStatus.PENDING, target=PaymentStatus.FAILED)
    def mark_payment_failed(self):
        pass

    @transition(payment_status, source=PaymentStatus.PAID, target=PaymentStatus.REFUNDED)
    def mark_refunded(self):
        pass

    # --- shipping_status -----------------------------------------------------------------------
    @transition(shipping_status, source="*", target=RETURN_VALUE(*ShippingStatus.values))
    def follow_shipments(self, status: str) -> str:
        """Not a workflow of its own: what the shipments say, derived by fulfillment's
        `order_shipping_status` from their states (and logged like any change)."""
        return status

    # --- review_status -------------------------------------------------------------------------
    @transition(review_status, source=ReviewStatus.HELD, target=ReviewStatus.RELEASED, permission="orders.review_order")
    def release_review(self):
        """Staff checked a suspicious repeat order and let it through."""

    @property
    def is_held(self) -> bool:
        return self.review_status == ReviewStatus.HELD


class OrderSearch(models.Model):
    """What the staff search of orders reads, a row per order, kept by PostgreSQL's triggers (migration 0022;
    SQLite's search reads the order's own columns).

    Its trigram indexes lived on the order: every status change of an order (about five in its life; none is a
    HOT update, the status being indexed) wrote their entries again — 14% of an applied callback's WAL. Here
    they are written when an order is placed, and when its number or customer fields change.
    """

    order = models.OneToOneField(Order, on_delete=models.CASCADE, primary_key=True, related_name="search")
    number = models.CharField(max_length=20)
    customer_id = models.CharField(max_length=64)
    customer_name = models.CharField(max_length=200)
    customer_email = models.CharField(max_length=254)
    customer_phone = models.CharField(max_length=20)

    class Meta:
        # trigram indexes of number, name, e-mail and phone: PostgreSQL only (migration 0022)
        indexes = [models.Index(Upper("customer_id"), name="ordersearch_customer_id_upper")]

    def __str__(self):
        return self.number


class BackOrder(Order):
    """The back-order queue: paid orders waiting for stock, oldest first."""

    class Meta:
        proxy = True
        verbose_name = _("back-order")
        verbose_name_plural = _("back-order queue")


def new_return_number() -> str:
    """`R` + the date + 8 random characters: one per request, never guessable from another."""
    return "R" + timezone.localdate().strftime("%y%m%d") + "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(8))


class ReturnStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    RECEIVED = "received", _("Received")
    REFUNDED = "refunded", _("Refunded")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_RETURN = [ReturnStatus.REQUESTED, ReturnStatus.APPROVED, ReturnStatus.RECEIVED]


class ReturnReason(models.TextChoices):
    DAMAGED = "damaged", _("Damaged")
    WRONG_ITEM = "wrong_item", _("Wrong item")
    NOT_AS_DESCRIBED = "not_as_described", _("Not as described")
    CHANGED_MIND = "changed_mind", _("Changed my mind")
    OTHER = "other", _("Other")


class Return(FSMModelMixin, models.Model):
    """A customer's request to send items of a delivered order back, and what became of it."""

    number = models.CharField(_("number"), max_length=20, unique=True, default=new_return_number, editable=False)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns", verbose_name=_("order"))
    status = FSMField(_("status"), default=ReturnStatus.REQUESTED, choices=ReturnStatus.choices, protected=True)
    reason = models.CharField(_("reason"), max_length=20, choices=ReturnReason.choices)
    note = models.TextField(_("customer's note"), max_length=1000, blank=True)
    refund_amount = models.DecimalField(_("refund amount"), max_digits=12, decimal_places=2)
    decision = models.CharField(_("staff's reason"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("requested"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("return")
        verbose_name_plural = _("returns")
        permissions = [("handle_return", _("Can approve, reject and receive returns"))]

    def __str__(self):
        return self.number

    @transition(status, source=ReturnStatus.REQUESTED, target=ReturnStatus.APPROVED, permission="orders.handle_return")
    def approve(self):
        """Staff agreed: the customer sends the items."""

    @transition(status, source=ReturnStatus.REQUESTED, target=ReturnStatus.REJECTED, permission="orders.handle_return")
    def reject(self):
        """Staff refused, with a reason the customer is told."""

    @transition(status, source=ReturnStatus.APPROVED, target=ReturnStatus.RECEIVED, permission="orders.handle_return")
    def receive(self):
        """The parcel arrived; each line restocked or written off."""

    @transition(status, source=ReturnStatus.RECEIVED, target=ReturnStatus.REFUNDED)
    def refund(self):
        """The money went back through the payment's gateway."""

    @transition(status, source=[ReturnStatus.REQUESTED, ReturnStatus.APPROVED], target=ReturnStatus.CANCELLED)
    def cancel(self):
        """The customer changed their mind before sending anything."""


class ReturnLine(models.Model):
    ret = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="lines", verbose_name=_("return"))
    item = models.ForeignKey(
        "orders.OrderItem", on_delete=models.PROTECT, related_name="+", verbose_name=_("order item")
    )
    sku = models.CharField(_("SKU"), max_length=64)
    quantity = models.PositiveIntegerField(_("quantity"))
    refund_amount = models.DecimalField(_("refund amount"), max_digits=12, decimal_places=2)
    restocked_to = models.ForeignKey(
        "inventory.Warehouse",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("restocked to"),
    )
    write_off_reason = models.CharField(_("written off because"), max_length=255, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("return line")
        verbose_name_plural = _("return lines")
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="returnline_quantity_positive")]

    def __str__(self):
        return f"{self.quantity} × {self.sku}"


class OrderComment(models.Model):
    """A staff member's internal note on an order (never shown to the customer)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="comments", verbose_name=_("order"))
    text = models.TextField(_("comment"), max_length=2000)
    actor = models.CharField(_("by"), max_length=150)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("user")
    )
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("comment")
        verbose_name_plural = _("comments")

    def __str__(self):
        return f"{self.order_id}: {self.text[:40]}"


class OrderEdit(models.Model):
    """A staff correction of an order's customer details: who changed which field from what to what."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="edits", verbose_name=_("order"))
    field = models.CharField(_("field"), max_length=40)
    old_value = models.CharField(_("from"), max_length=255, blank=True)
    new_value = models.CharField(_("to"), max_length=255, blank=True)
    actor = models.CharField(_("changed by"), max_length=150)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("order edit")
        verbose_name_plural = _("edits of customer details")

    def __str__(self):
        return f"{self.order_id}.{self.field}"

    @property
    def field_label(self) -> str:
        return str(Order._meta.get_field(self.field).verbose_name)


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items", verbose_name=_("order"))
    product = models.ForeignKey(
        "inventory.Product", on_delete=models.PROTECT, related_name="+", verbose_name=_("product")
    )
    sku = models.CharField(_("SKU"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2)
    quantity = models.PositiveIntegerField(_("quantity"))
    total_price = models.DecimalField(_("total"), max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["id"]
        verbose_name = _("order item")
        verbose_name_plural = _("order items")
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="orderitem_quantity_positive")]

    def __str__(self):
        return f"{self.quantity} × {self.sku}"


class IdempotencyKey(models.Model):
    """A storefront's Idempotency-Key with the response it got; kept at least 24 hours."""

    client = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # led by the unique (client, key)
        verbose_name=_("client"),
    )
    key = models.CharField(_("key"), max_length=255)
    request_hash = models.CharField(_("request fingerprint"), max_length=64)
    response_status = models.PositiveSmallIntegerField(_("response status"))
    response_body = models.JSONField(_("response body"))
    order_number = models.CharField(_("order"), max_length=20, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [models.UniqueConstraint(fields=["client", "key"], name="idempotencykey_client_key_uniq")]

    def __str__(self):
        return self.key


class StorefrontKey(AbstractAPIKey):
    """A storefront's API key. Only a SHA-512 of the key is kept (the key has 190 random bits, so a fast hash
    is safe); the 8-character prefix finds the row. The storefront itself is `client`, a user named
    `api:<storefront>`, so rotating a key keeps its orders."""

    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys", verbose_name=_("storefront")
    )

    class Meta(AbstractAPIKey.Meta):
        verbose_name = _("storefront API key")
        verbose_name_plural = _("storefront API keys")
