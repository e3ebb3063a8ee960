import re

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition


class Carrier(models.TextChoices):
    SF = "sf", _("SF Express")
    ZTO = "zto", _("ZTO Express")
    YTO = "yto", _("YTO Express")
    SANDBOX = "sandbox", _("Sandbox carrier")


class ShipmentStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be picked")
    PICKING = "picking", _("Picking")
    PACKED = "packed", _("Packed")
    SHIPPED = "shipped", _("Shipped")
    IN_TRANSIT = "in_transit", _("In transit")
    DELIVERED = "delivered", _("Delivered")
    EXCEPTION = "exception", _("Exception")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_SHIPMENT = [ShipmentStatus.PENDING, ShipmentStatus.PICKING, ShipmentStatus.PACKED]


class Shipment(FSMModelMixin, models.Model):
    """What one warehouse sends for one order."""

    order = models.ForeignKey(  # no index of its own: shipment_order_warehouse_uniq starts with it
        "orders.Order", on_delete=models.PROTECT, related_name="shipments", db_index=False, verbose_name=_("order")
    )
    warehouse = models.ForeignKey(
        "inventory.Warehouse", on_delete=models.PROTECT, related_name="shipments", verbose_name=_("warehouse")
    )
    status = FSMField(_("status"), default=ShipmentStatus.PENDING, choices=ShipmentStatus.choices, protected=True)
    priority = models.IntegerField(_("priority"), default=0, help_text=_("Higher is picked first."))
    carrier = models.CharField(_("carrier"), max_length=20, choices=Carrier.choices, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=64, blank=True)
    tracking_url = models.URLField(_("tracking URL"), blank=True)
    label = models.TextField(_("waybill label"), blank=True)
    estimated_delivery = models.DateField(_("estimated delivery"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    check_count = models.PositiveIntegerField(_("tracking checks"), default=0)
    next_check_at = models.DateTimeField(_("next tracking check"), null=True, blank=True, db_index=True)
    last_event_at = models.DateTimeField(_("last tracking update"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)  # indexed in shipment_queue_idx
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-priority", "created_at"]
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        permissions = [
            ("pick_shipment", _("Can pick and pack shipments")),
            ("ship_shipment", _("Can ship shipments")),
            ("print_shipment", _("Can print picking lists and parcel labels")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["order", "warehouse"], name="shipment_order_warehouse_uniq"),
            models.UniqueConstraint(
                fields=["carrier", "tracking_number"],
                condition=~Q(tracking_number=""),
                name="shipment_carrier_tracking_uniq",
            ),
        ]
        indexes = [
            models.Index(Upper("tracking_number"), name="shipment_tracking_idx"),  # the order search (any case)
            models.Index(fields=["status", "last_event_at"], name="shipment_status_idx"),  # the to-do lists
            models.Index(F("priority").desc(), "created_at", name="shipment_queue_idx"),  # the list's order
        ]

    def __str__(self):
        return f"{self.order_id}/{self.warehouse_id}" if not self.pk else f"S{self.pk}"

    @transition(
        status, source=ShipmentStatus.PENDING, target=ShipmentStatus.PICKING, permission="fulfillment.pick_shipment"
    )
    def start_picking(self):
        pass

    @transition(
        status, source=ShipmentStatus.PICKING, target=ShipmentStatus.PACKED, permission="fulfillment.pick_shipment"
    )
    def pack(self):
        pass

    @transition(
        status, source=ShipmentStatus.PACKED, target=ShipmentStatus.SHIPPED, permission="fulfillment.ship_shipment"
    )
    def ship(self):
        """Handed to the carrier with a tracking number."""

    @transition(status, source=[ShipmentStatus.SHIPPED, ShipmentStatus.EXCEPTION], target=ShipmentStatus.IN_TRANSIT)
    def move(self):
        pass

    @transition(
        status,
        source=[ShipmentStatus.SHIPPED, ShipmentStatus.IN_TRANSIT, ShipmentStatus.EXCEPTION],
        target=ShipmentStatus.DELIVERED,
    )
    def deliver(self):
        pass

    @transition(status, source=[ShipmentStatus.SHIPPED, ShipmentStatus.IN_TRANSIT], target=ShipmentStatus.EXCEPTION)
    def fail_delivery(self):
        """The carrier reports a problem (address, damage, refusal)."""

    @transition(status, source=OPEN_SHIPMENT, target=ShipmentStatus.CANCELLED)
    def cancel(self):
        """The order was refunded before this parcel left: nothing more is picked or shipped."""


def route_key(location: str) -> str:
    """A bin location as the picker walks: numbers by value, so "A-2" comes before "A-10"."""
    return re.sub(r"\d+", lambda m: m.group().zfill(8), location.strip().upper())


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines", verbose_name=_("shipment"))
    sku = models.CharField(_("SKU"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    quantity = models.PositiveIntegerField(_("quantity"))
    location = models.CharField(_("bin location"), max_length=40, blank=True)
    route = models.CharField(_("picking route position"), max_length=120, blank=True, editable=False)
    weight_grams = models.PositiveIntegerField(_("weight (g)"), default=0)
    fragile = models.BooleanField(_("fragile"), default=False)

    class Meta:
        ordering = ["route", "sku"]  # the picking route
        verbose_name = _("shipment line")
        verbose_name_plural = _("shipment lines")

    def __str__(self):
        return f"{self.quantity} × {self.sku}"

    def save(self, *args, **kwargs):
        self.route = route_key(self.location)
        super().save(*args, **kwargs)


class TrackingEvent(models.Model):
    class Status(models.TextChoices):
        IN_TRANSIT = "in_transit", _("In transit")
        OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
        DELIVERED = "delivered", _("Delivered")
        EXCEPTION = "exception", _("Exception")

    shipment = models.ForeignKey(  # no index of its own: trackingevent_once_per_shipment starts with it
        Shipment, on_delete=models.CASCADE, related_name="events", db_index=False, verbose_name=_("shipment")
    )
    occurred_at = models.DateTimeField(_("time"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    location = models.CharField(_("location"), max_length=120, blank=True)
    description = models.CharField(_("description"), max_length=255, blank=True)
    carrier_event_id = models.CharField(_("carrier event id"), max_length=100)
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        ordering = ["occurred_at", "id"]
        verbose_name = _("tracking event")
        verbose_name_plural = _("tracking events")
        constraints = [
            models.UniqueConstraint(fields=["shipment", "carrier_event_id"], name="trackingevent_once_per_shipment")
        ]

    def __str__(self):
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.status}"


class ShipmentAttention(Shipment):
    """Shipments in exception, or without any tracking update for too long."""

    class Meta:
        proxy = True
        verbose_name = _("shipment needing attention")
        verbose_name_plural = _("shipments needing attention")
