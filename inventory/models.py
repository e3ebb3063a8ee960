from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class Warehouse(models.Model):
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=120)
    priority = models.PositiveIntegerField(
        _("priority"), default=100, help_text=_("Lower ships first when stock is allocated.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    # Where parcels leave from: the sender on electronic waybills.
    contact_name = models.CharField(_("contact"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    province = models.CharField(_("province"), max_length=100, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    street = models.CharField(_("street"), max_length=255, blank=True)
    usual_carrier = models.CharField(
        _("usual carrier"),
        max_length=20,
        blank=True,
        help_text=_("Offered first when shipping from here (sf, zto, yto or sandbox)."),
    )

    class Meta:
        ordering = ["priority", "code"]
        verbose_name = _("warehouse")
        verbose_name_plural = _("warehouses")

    def __str__(self):
        return f"{self.code} · {self.name}"


class Product(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        DISCONTINUED = "discontinued", _("Discontinued")

    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    is_active = models.BooleanField(_("active"), default=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE)
    max_quantity_per_order = models.PositiveIntegerField(_("max quantity per order"), default=10)
    weight_grams = models.PositiveIntegerField(_("weight (g)"), default=0)
    fragile = models.BooleanField(_("fragile"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["sku"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [models.CheckConstraint(condition=Q(price__gte=0), name="product_price_not_negative")]

    def __str__(self):
        return f"{self.sku} · {self.name}"

    @property
    def is_sellable(self) -> bool:
        return self.is_active and self.status == self.Status.ACTIVE


class StockItem(models.Model):
    """One product in one warehouse. `available = on_hand - reserved`, guarded by the database."""

    product = models.ForeignKey(  # no index of its own: stockitem_product_warehouse_uniq starts with it
        Product, on_delete=models.PROTECT, related_name="stock_items", db_index=False, verbose_name=_("product")
    )
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, related_name="stock_items", verbose_name=_("warehouse")
    )
    on_hand = models.IntegerField(_("on hand"), default=0)
    reserved = models.IntegerField(_("reserved"), default=0)
    location = models.CharField(_("bin location"), max_length=40, blank=True)
    reorder_point = models.PositiveIntegerField(_("reorder point"), default=0)

    class Meta:
        ordering = ["product__sku", "warehouse__priority"]
        verbose_name = _("stock item")
        verbose_name_plural = _("stock items")
        permissions = [("move_stock", _("Can receive, move and count stock"))]
        constraints = [
            models.UniqueConstraint(fields=["product", "warehouse"], name="stockitem_product_warehouse_uniq"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stockitem_on_hand_not_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stockitem_reserved_not_negative"),
            models.CheckConstraint(condition=Q(reserved__lte=F("on_hand")), name="stockitem_reserved_lte_on_hand"),
        ]

    def __str__(self):
        return f"{self.product.sku} @ {self.warehouse.code}"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class StockMovement(models.Model):
    """The ledger: on_hand and reserved of every stock item are the sums of its deltas."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt", _("Receipt")
        ADJUSTMENT = "adjustment", _("Adjustment")
        RESERVE = "reserve", _("Reserve")
        RELEASE = "release", _("Release")
        COMMIT = "commit", _("Commit")
        RETURN = "return", _("Return")
        TRANSFER = "transfer", _("Transfer between warehouses")

    stock_item = models.ForeignKey(
        StockItem, on_delete=models.PROTECT, related_name="movements", verbose_name=_("stock item")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    quantity = models.IntegerField(_("quantity"))
    on_hand_delta = models.IntegerField(_("on hand change"), default=0)
    reserved_delta = models.IntegerField(_("reserved change"), default=0)
    # not indexed: nothing looks a movement up by reference (the admin's search ORs it with `actor` contains, a
    # scan whatever the indexes), and the ledger takes a row per stock line of every placement and payment
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    actor = models.CharField(_("actor"), max_length=150)
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")

    def __str__(self):
        return f"{self.get_kind_display()} {self.quantity} ({self.reference})"


class Reservation(models.Model):
    """Stock held for a holder (an order number, so inventory depends on no other app)."""

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        RELEASED = "released", _("Released")
        COMMITTED = "committed", _("Committed")
        RETURNED = "returned", _("Returned to stock")

    holder = models.CharField(_("holder"), max_length=64)
    stock_item = models.ForeignKey(
        StockItem, on_delete=models.PROTECT, related_name="reservations", verbose_name=_("stock item")
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    expires_at = models.DateTimeField(_("expires at"))
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.ACTIVE)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("reservation")
        verbose_name_plural = _("reservations")
        indexes = [
            models.Index(fields=["state", "expires_at"], name="reservation_state_expiry_idx"),
            # a Meta index, not db_index: that adds a varchar_pattern_ops twin no holder lookup uses
            models.Index(fields=["holder"], name="reservation_holder_idx"),
        ]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="reservation_quantity_positive")]

    def __str__(self):
        return f"{self.holder}: {self.quantity} × {self.stock_item_id}"


class RestockAlert(models.Model):
    """Raised when a stock item's availability falls to or below its reorder point."""

    stock_item = models.ForeignKey(
        StockItem, on_delete=models.CASCADE, related_name="restock_alerts", verbose_name=_("stock item")
    )
    available = models.IntegerField(_("available"))
    reorder_point = models.PositiveIntegerField(_("reorder point"))
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    acknowledged = models.BooleanField(_("acknowledged"), default=False)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        ordering = ["acknowledged", "-created_at"]
        verbose_name = _("restock alert")
        verbose_name_plural = _("restock alerts")

    def __str__(self):
        return f"{self.stock_item_id}: {self.available} ≤ {self.reorder_point}"
