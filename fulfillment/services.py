"""Fulfillment: shipments per warehouse, warehouse steps, tracking. The order follows its shipments:
`shipped` when all are shipped, `delivered` when all are delivered."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import can_proceed

from config.api import untrusted_text_problem
from core.db import insert_rows, lock_or_skip, row_lock, save_fields
from core.errors import ApplicationError, InvalidTransition
from core.events import emit
from core.fsm import Actor, actor_parts, transition_apply
from core.logs import about_order
from inventory.selectors import committed_stock_of
from orders.models import Order, OrderStatus, ShippingStatus
from orders.services import order_lock

from .carriers import Address, CarrierError, CarrierNotConfigured, TrackingUpdate, WaybillRequest, get_carrier
from .models import OPEN_SHIPMENT, Shipment, ShipmentLine, ShipmentStatus, TrackingEvent, route_key

logger = logging.getLogger(__name__)

# How far along each shipment is; the order is as far along as its least advanced parcel.
PROGRESS = [
    (ShipmentStatus.PENDING, ShippingStatus.UNFULFILLED),
    (ShipmentStatus.PICKING, ShippingStatus.PICKING),
    (ShipmentStatus.PACKED, ShippingStatus.PACKED),
    (ShipmentStatus.SHIPPED, ShippingStatus.SHIPPED),
    (ShipmentStatus.IN_TRANSIT, ShippingStatus.IN_TRANSIT),
    (ShipmentStatus.DELIVERED, ShippingStatus.DELIVERED),
]
# A shipment claimed by a tracking sweep is due again after this, should the worker die mid-check.
TRACKING_CLAIM = timedelta(minutes=10)
STEP = {shipment: i for i, (shipment, _order) in enumerate(PROGRESS)} | {ShipmentStatus.EXCEPTION: 4}


def order_shipping_status(statuses: list[str]) -> str | None:
    """The order's shipping status, derived from its shipments' (the one place this is decided): the least
    advanced parcel's step, "picking" once any parcel is started, "exception" when a parcel that left is in
    trouble. None without live shipments (the order keeps what it has)."""
    live = [s for s in statuses if s != ShipmentStatus.CANCELLED]
    if not live:
        return None
    lowest = min(STEP[s] for s in live)
    if lowest == 0 and any(STEP[s] > 0 for s in live):
        lowest = STEP[ShipmentStatus.PICKING]
    if ShipmentStatus.EXCEPTION in live and lowest >= STEP[ShipmentStatus.SHIPPED]:
        return ShippingStatus.EXCEPTION
    return PROGRESS[lowest][1]


class FulfillmentError(ApplicationError):
    code = "fulfillment_error"


def _priority(order: Order, now: datetime) -> int:
    """Express first, then bigger orders, then older ones (the age bonus grows by the hour)."""
    age_hours = int((now - order.created_at).total_seconds() // 3600)
    return (1000 if order.shipping_method == "express" else 0) + min(int(order.total) // 10, 500) + min(age_hours, 200)


def shipment_create_for_order(*, order_number: str, actor: Actor, skip_locked: bool = False) -> list[Shipment]:
    """One shipment per warehouse holding the order's committed stock, lines in picking-route order.

    Safe to run twice: the order is locked, and (order, warehouse) is unique. With `skip_locked` (sweeps
    running side by side) an order someone holds is left alone: nothing is created, the next run looks again.
    """
    now = timezone.now()
    with transaction.atomic():
        if skip_locked:
            about_order(order_number)
            order = row_lock(Order, order_number, by="number", skip_locked=True)
            if order is None:
                return []
        else:
            order = order_lock(number=order_number)
        existing = list(order.shipments.all())
        if existing or order.status != OrderStatus.CONFIRMED or order.is_held:
            return existing
        items = {i.product_id: i for i in order.items.select_related("product")}
        by_warehouse: dict[int, list[dict]] = defaultdict(list)
        for row in committed_stock_of(holder=order.number):
            by_warehouse[row["stock_item__warehouse_id"]].append(row)
        shipments = []
        for warehouse_id, rows in by_warehouse.items():
            shipment = Shipment(order=order, warehouse_id=warehouse_id, priority=_priority(order, now))
            insert_rows([shipment])
            insert_rows(
                [
                    ShipmentLine(
                        shipment=shipment,
                        sku=items[r["stock_item__product_id"]].sku,
                        name=items[r["stock_item__product_id"]].name,
                        quantity=r["quantity"],
                        location=r["stock_item__location"],
                        route=route_key(r["stock_item__location"]),
                        weight_grams=items[r["stock_item__product_id"]].product.weight_grams * r["quantity"],
                        fragile=items[r["stock_item__product_id"]].product.fragile,
                    )
                    for r in sorted(
                        rows, key=lambda r: (route_key(r["stock_item__location"]), r["stock_item__product_id"])
                    )
                ]
            )
            shipments.append(shipment)
        transition_apply(order, "start_processing", actor=actor, reason=str(_("Picking list sent to the warehouse")))
        save_fields(order, ["status", "updated_at"])
        emit("order.processing", order=order)
    return shipments


def orders_awaiting_fulfillment(*, older_than_seconds: int = 30, limit: int = 200, exclude=()) -> list[str]:
    """Confirmed orders without shipments, oldest first: all of them for the run woken after a payment
    (`older_than_seconds=0`), those whose wake has had its chance for the beat's sweep."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return list(
        Order.objects.filter(status=OrderStatus.CONFIRMED, shipments__isnull=True, updated_at__lt=cutoff)
        .exclude(review_status="held")
        .exclude(number__in=exclude)
        .order_by("updated_at")
        .values_list("number", flat=True)[:limit]
    )


def _sync_order(order: Order, actor: Actor) -> None:
    """Make the (locked) order's shipping_status and status follow its shipments."""
    shipping = order_shipping_status(list(order.shipments.values_list("status", flat=True)))
    if shipping is None:
        return
    fields, events = set(), []
    if shipping != order.shipping_status:
        transition_apply(order, "follow_shipments", actor=actor, arguments=(shipping,))
        fields.add("shipping_status")
    left = shipping in (
        ShippingStatus.SHIPPED,
        ShippingStatus.IN_TRANSIT,
        ShippingStatus.EXCEPTION,
        ShippingStatus.DELIVERED,
    )
    if left and order.status == OrderStatus.PROCESSING:
        transition_apply(order, "ship", actor=actor, reason=str(_("All shipments handed to carriers")))
        fields.add("status")
        events.append("order.shipped")
    if shipping == ShippingStatus.DELIVERED and order.status == OrderStatus.SHIPPED:
        transition_apply(order, "deliver", actor=actor, reason=str(_("All shipments delivered")))
        order.delivered_at = timezone.now()
        fields |= {"status", "delivered_at"}
        events.append("order.delivered")
    if fields:
        order.save(update_fields=[*fields, "updated_at"])
    for event in events:  # once saved: a subscriber may read the order back (a webhook renders it)
        emit(event, order=order)


def shipments_stop_for_refund(*, order: Order, actor: Actor) -> set[int]:
    """`order.refunded` handler, in the refund's transaction: shipments not yet handed to a carrier are
    cancelled (their stock goes back with the order's); returns the warehouses whose parcels already left."""
    left = set()
    for shipment in order.shipments.select_for_update().order_by("pk"):
        if shipment.status in OPEN_SHIPMENT:
            transition_apply(shipment, "cancel", actor=actor, reason=str(_("Order refunded")))
            shipment.save(update_fields=["status", "updated_at"])
        elif shipment.status != ShipmentStatus.CANCELLED:
            left.add(shipment.warehouse_id)
    return left


def _step(shipment_id: int, name: str, actor: Actor, *, check_permission: bool, **changes) -> Shipment:
    with transaction.atomic():
        number = Shipment.objects.values_list("order__number", flat=True).get(pk=shipment_id)
        order = order_lock(number=number)
        shipment = Shipment.objects.select_for_update().get(pk=shipment_id)
        if order.status != OrderStatus.PROCESSING:  # refunded, cancelled or held: nothing is picked or shipped
            raise InvalidTransition(
                _("The order is %(status)s.") % {"status": order.get_status_display()}, status=shipment.status
            )
        transition_apply(shipment, name, actor=actor, check_permission=check_permission)
        for field, value in changes.items():
            setattr(shipment, field, value)
        shipment.save()
        _sync_order(order, actor)
    return shipment


def shipment_start_picking(*, shipment_id: int, actor: Actor, check_permission: bool = False) -> Shipment:
    return _step(shipment_id, "start_picking", actor, check_permission=check_permission)


def shipment_pack(*, shipment_id: int, actor: Actor, check_permission: bool = False) -> Shipment:
    return _step(shipment_id, "pack", actor, check_permission=check_permission)


def shipment_ship(
    *, shipment_id: int, carrier: str, actor: Actor, tracking_number: str = "", check_permission: bool = False
) -> Shipment:
    """Hand a packed shipment to a carrier: a tracking number typed in, or an electronic waybill requested
    from the carrier (outside any lock)."""
    adapter = get_carrier(carrier)
    if adapter is None:
        raise FulfillmentError(_("Unknown carrier."), code="unknown_carrier")
    shipment = Shipment.objects.select_related("order", "warehouse").get(pk=shipment_id)
    if shipment.status != ShipmentStatus.PACKED:
        raise InvalidTransition(status=shipment.status)
    label = ""
    estimated = None
    if not tracking_number.strip():
        try:
            waybill = adapter.create_waybill(_waybill_request(shipment))
        except CarrierError as exc:
            raise FulfillmentError(str(exc), code="carrier_error") from exc
        tracking_number, label, estimated = waybill.tracking_number, waybill.label, waybill.estimated_delivery
    now = timezone.now()
    try:
        return _step(
            shipment_id,
            "ship",
            actor,
            check_permission=check_permission,
            carrier=carrier,
            tracking_number=tracking_number.strip(),
            tracking_url=adapter.tracking_url(tracking_number.strip()),
            label=label,
            estimated_delivery=estimated,
            shipped_at=now,
            next_check_at=now + timedelta(hours=settings.TRACKING_POLL_HOURS),
        )
    except IntegrityError as exc:
        raise FulfillmentError(
            _("This tracking number is already used by another shipment."), code="duplicate_tracking_number"
        ) from exc


def _waybill_request(shipment: Shipment) -> WaybillRequest:
    order, warehouse = shipment.order, shipment.warehouse
    lines = list(shipment.lines.all())
    return WaybillRequest(
        reference=f"{order.number}-{shipment.pk}",
        sender=Address(
            warehouse.contact_name or warehouse.name,
            warehouse.phone,
            warehouse.province,
            warehouse.city,
            warehouse.street,
        ),
        recipient=Address(
            order.customer_name, order.customer_phone, order.province, order.city, order.street, order.postal_code
        ),
        weight_grams=sum(line.weight_grams for line in lines),
        items=tuple((line.name, line.quantity) for line in lines),
    )


_EVENT_TO_TRANSITION = {
    "in_transit": "move",
    "out_for_delivery": "move",
    "delivered": "deliver",
    "exception": "fail_delivery",
}


def tracking_record(*, shipment: Shipment, updates: list[TrackingUpdate], actor: Actor) -> int:
    """Store new tracking events once and move the shipment to what its latest event (by time) says.

    Replayed or out-of-order events change nothing twice: events are unique per carrier event id, and
    the shipment only follows the newest event."""
    with transaction.atomic():
        order = order_lock(number=shipment.order.number)
        shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
        known = set(shipment.events.values_list("carrier_event_id", flat=True))
        previous = shipment.events.order_by("-occurred_at", "-id").first()
        fresh = [u for u in updates if u.carrier_event_id not in known and u.status in _EVENT_TO_TRANSITION]
        TrackingEvent.objects.bulk_create(
            [
                TrackingEvent(
                    shipment=shipment,
                    occurred_at=u.occurred_at,
                    status=u.status,
                    location=u.location[:120],
                    description=u.description[:255],
                    carrier_event_id=u.carrier_event_id[:100],
                )
                for u in {u.carrier_event_id: u for u in fresh}.values()
            ]
        )
        latest = shipment.events.order_by("-occurred_at", "-id").first()
        changed = latest is not None and latest.status != (previous.status if previous else None)
        if changed and latest.carrier_event_id in {u.carrier_event_id for u in fresh}:
            emit("shipment.updated", order=order, shipment=shipment, tracking_event=latest)
        if latest is not None:
            shipment.last_event_at = latest.occurred_at
            name = _EVENT_TO_TRANSITION[latest.status]
            method = getattr(shipment, name)
            if shipment.status != {"move": "in_transit", "deliver": "delivered", "fail_delivery": "exception"}[
                name
            ] and can_proceed(method):
                transition_apply(shipment, name, actor=actor, reason=latest.description)
                if name == "deliver":
                    shipment.delivered_at = latest.occurred_at
                    shipment.next_check_at = None
            shipment.save()
            _sync_order(order, actor)
    return len(fresh)


def tracking_poll(*, now: datetime | None = None, limit: int = 200) -> int:
    """Ask carriers about one batch of shipments due a check; returns the tracking events stored."""
    return tracking_poll_batch(limit, now=now)[1]


def tracking_poll_batch(batch_size: int, *, now: datetime | None = None) -> tuple[int, int]:
    """Ask carriers about shipments due a check (every TRACKING_POLL_HOURS, at most TRACKING_MAX_CHECKS).

    The batch is claimed with SKIP LOCKED and its next check pushed a lease ahead before the network calls,
    so sweeps side by side never ask twice, and a worker that dies leaves its shipments due again after the
    lease. Returns (shipments asked, tracking events stored)."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            lock_or_skip(
                Shipment.objects.filter(
                    status__in=[ShipmentStatus.SHIPPED, ShipmentStatus.IN_TRANSIT, ShipmentStatus.EXCEPTION],
                    next_check_at__lte=now,
                    check_count__lt=settings.TRACKING_MAX_CHECKS,
                )
                .select_related("order")
                .order_by("next_check_at"),
                of=("self",),
            )[:batch_size]
        )
        Shipment.objects.filter(pk__in=[s.pk for s in due]).update(next_check_at=now + TRACKING_CLAIM)
    stored = 0
    for shipment in due:
        try:
            updates = get_carrier(shipment.carrier).get_tracking(
                tracking_number=shipment.tracking_number, shipped_at=shipment.shipped_at, now=now
            )
        except CarrierNotConfigured as exc:  # a carrier used without its API: staff track by hand
            logger.info("tracking %s not polled: %s", shipment.tracking_number, exc)
            updates = []
        except CarrierError as exc:
            logger.warning("tracking %s failed: %s", shipment.tracking_number, exc)
            updates = []
        stored += tracking_record(shipment=shipment, updates=updates, actor="task:poll_tracking")
        checks = shipment.check_count + 1
        done = Shipment.objects.filter(pk=shipment.pk, status=ShipmentStatus.DELIVERED).exists()
        Shipment.objects.filter(pk=shipment.pk).update(
            check_count=checks,
            next_check_at=None
            if done or checks >= settings.TRACKING_MAX_CHECKS
            else now + timedelta(hours=settings.TRACKING_POLL_HOURS),
        )
    return len(due), stored


def _update_problem(u: TrackingUpdate) -> str | None:
    """A signed push still carries the carrier's text: it must be text, and its time a time."""
    if not isinstance(u.occurred_at, datetime) or u.occurred_at.tzinfo is None:
        return "the event has no valid time"
    for name in ("tracking_number", "carrier_event_id", "status", "location", "description"):
        value = getattr(u, name)
        if not isinstance(value, str) or untrusted_text_problem(value):
            return f"{name} is not text"
    return None


def tracking_apply_push(*, carrier: str, headers: dict[str, str], body: bytes) -> int:
    """A carrier's signed push, applied through the same path as a poll."""
    adapter = get_carrier(carrier)
    if adapter is None:
        raise FulfillmentError(_("Unknown carrier."), code="unknown_carrier")
    if b"\x00" in body:
        raise CarrierError("NUL byte in the push")
    try:
        updates = adapter.parse_push(headers=headers, body=body)
    except RecursionError as exc:
        raise CarrierError("malformed push: nested too deeply") from exc
    for u in updates:
        if problem := _update_problem(u):
            raise CarrierError(f"malformed push: {problem}")
    stored = 0
    by_number: dict[str, list[TrackingUpdate]] = defaultdict(list)
    for u in updates:
        by_number[u.tracking_number].append(u)
    label, _user = actor_parts(f"carrier:{carrier}")
    for number, group in by_number.items():
        shipment = Shipment.objects.filter(carrier=carrier, tracking_number=number).select_related("order").first()
        if shipment is None:
            # Authentic, but not ours to track (a parcel sent outside the back office, or a mistyped number,
            # whose shipment then shows as silent in "Shipments needing attention"): acknowledged, so the
            # carrier does not push it forever.
            logger.warning("%s push for unknown tracking number %s ignored", carrier, number)
            continue
        stored += tracking_record(shipment=shipment, updates=group, actor=label)
    return stored
