"""Order use cases. Reads and checks come first; the write transaction is short and touches stock last,
so a hot SKU's row is locked only for the few statements that must hold it."""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import phonenumbers
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.celery_app import left_to_sweeps
from config.permissions import CUSTOMER_ADDRESS, CUSTOMER_CONTACT
from core.db import insert_together, lock_or_skip, prefetched, require_transaction, row_lock, save_fields, writes_at_end
from core.errors import ApplicationError, InvalidTransition
from core.events import emit
from core.fsm import Actor, actor_parts, transition_apply, transition_log_entry
from core.logs import about_order
from core.models import TransitionLog
from inventory.models import Product
from inventory.services import (
    OutOfStock,
    stock_commit,
    stock_plan,
    stock_release,
    stock_release_many,
    stock_reserve_lines,
    stock_return,
)

from .models import (
    OPEN_RETURN,
    Coupon,
    IdempotencyKey,
    Order,
    OrderComment,
    OrderEdit,
    OrderItem,
    OrderStatus,
    PaymentStatus,
    Return,
    ReviewStatus,
    StorefrontKey,
)
from .pricing import price_order
from .selectors import order_reached_at, placement_reads, recent_same_content

logger = logging.getLogger(__name__)


# --- errors of the placement table ------------------------------------------------------------
class UnknownProduct(ApplicationError):
    code = "unknown_product"
    default_detail = _("Some products do not exist.")


class ProductUnavailable(ApplicationError):
    code = "product_unavailable"
    default_detail = _("Some products are not for sale.")


class PriceMismatch(ApplicationError):
    code = "price_mismatch"
    default_detail = _("Some prices differ from the catalogue.")


class QuantityLimitExceeded(ApplicationError):
    code = "quantity_limit_exceeded"
    default_detail = _("Some quantities exceed the per-order limit.")


class InvalidCoupon(ApplicationError):
    code = "invalid_coupon"
    default_detail = _("The coupon cannot be used.")


class CustomerBlocked(ApplicationError):
    code = "customer_blocked"
    default_detail = _("This customer may not place orders.")


class DuplicateOrder(ApplicationError):
    code = "duplicate_order"
    default_detail = _("The same order was placed a moment ago.")


class OrderValidationError(ApplicationError):
    code = "validation_error"
    default_detail = _("The request body is invalid.")


def _content_hash(customer_id: str, lines: list[tuple[str, int]], total: Decimal) -> str:
    text = "|".join([customer_id, *(f"{sku}x{qty}" for sku, qty in sorted(lines)), str(total)])
    return hashlib.sha256(text.encode()).hexdigest()


def _check_products(items: list[dict], currency: str, products: dict[str, Product]) -> None:
    skus = [i["sku"] for i in items]
    unknown = [s for s in skus if s not in products]
    if unknown:
        raise UnknownProduct(skus=unknown)
    unavailable = [s for s in skus if not products[s].is_sellable]
    if unavailable:
        raise ProductUnavailable(skus=unavailable)
    wrong_currency = [s for s in skus if products[s].currency != currency]
    if wrong_currency:
        message = _("Products %(skus)s are priced in %(currency)s.") % {
            "skus": ", ".join(wrong_currency),
            "currency": products[wrong_currency[0]].currency,
        }
        raise OrderValidationError(errors={"currency": [str(message)]})
    mismatched = [
        {"sku": i["sku"], "expected": f"{products[i['sku']].price:.2f}", "given": f"{i['unit_price']:.2f}"}
        for i in items
        if i["unit_price"] != products[i["sku"]].price
    ]
    if mismatched:
        raise PriceMismatch(items=mismatched)
    over = [
        {"sku": i["sku"], "requested": i["quantity"], "limit": products[i["sku"]].max_quantity_per_order}
        for i in items
        if i["quantity"] > products[i["sku"]].max_quantity_per_order
    ]
    if over:
        raise QuantityLimitExceeded(items=over)


def _check_coupon(code: str, subtotal: Decimal, now: datetime) -> Coupon:
    coupon = Coupon.objects.filter(code=code).first()
    if coupon is None or not coupon.is_active:
        raise InvalidCoupon(_("Unknown coupon."), reason="unknown")
    if coupon.valid_from and now < coupon.valid_from:
        raise InvalidCoupon(_("The coupon is not valid yet."), reason="not_started")
    if coupon.valid_until and now > coupon.valid_until:
        raise InvalidCoupon(_("The coupon has expired."), reason="expired")
    if coupon.max_uses is not None and coupon.used_count >= coupon.max_uses:
        raise InvalidCoupon(_("The coupon has been used up."), reason="exhausted")
    if subtotal < coupon.min_subtotal:
        raise InvalidCoupon(
            _("The order does not reach the coupon's minimum spend of %(amount)s.") % {"amount": coupon.min_subtotal},
            reason="min_subtotal",
        )
    return coupon


def _use_coupon(coupon: Coupon) -> None:
    """Counts a use atomically; the conditional UPDATE never lets the count pass max_uses."""
    used = Coupon.objects.filter(Q(max_uses__isnull=True) | Q(used_count__lt=F("max_uses")), pk=coupon.pk).update(
        used_count=F("used_count") + 1
    )
    if not used:
        raise InvalidCoupon(_("The coupon has been used up."), reason="exhausted")


def _give_back_coupons(orders: list[Order]) -> None:
    """Orders that will not be paid give their coupon uses back (one UPDATE per coupon, never below zero)."""
    for coupon_id, uses in sorted(Counter(o.coupon_id for o in orders if o.coupon_id).items()):
        Coupon.objects.filter(pk=coupon_id).update(used_count=Greatest(F("used_count") - uses, 0))


def _price(lines: list[tuple[Product, int]], shipping_method: str, coupon_code: str | None, now: datetime):
    pricing_lines = [(p.price, q) for p, q in lines]
    coupon = None
    if coupon_code:
        coupon = _check_coupon(coupon_code, sum((p * q for p, q in pricing_lines), Decimal(0)), now)
    pricing = price_order(
        lines=pricing_lines,
        shipping_method=shipping_method,
        coupon_kind=coupon.kind if coupon else None,
        coupon_value=coupon.value if coupon else None,
    )
    return coupon, pricing


def _hold_for_review(*, client, customer_id: str, content_hash: str, now: datetime, allow_duplicate: bool) -> bool:
    """The duplicate rule, read under the content lock (selectors.placement_reads took it): refuse a second
    click, hold a run of repeats. The lock makes placements of the same lines wait for each other until commit,
    so this read sees every order committed before it: a double click makes one order, the count is exact."""
    recent = recent_same_content(
        client_id=client.pk,
        customer_id=customer_id,
        content_hash=content_hash,
        since=now - timedelta(minutes=settings.DUPLICATE_WINDOW_MINUTES),
        review_since=now - timedelta(minutes=settings.REVIEW_WINDOW_MINUTES),
    )
    if recent and not allow_duplicate:
        raise DuplicateOrder(order=recent[0][0])
    return sum(1 for _number, in_review_window in recent if in_review_window) >= settings.REVIEW_THRESHOLD


def _order_create(
    *, fields: dict[str, Any], lines: list[tuple[Product, int]], held: bool, client, order_id: int | None
) -> Order:
    """Insert the order, its items and its first log rows (one statement when the id is known beforehand);
    the order comes back with its related rows loaded, so rendering it costs no query."""
    order = Order(**fields, id=order_id, review_status=ReviewStatus.HELD if held else ReviewStatus.CLEAR)
    if order_id is None:
        order.save(force_insert=True)
    items = [
        OrderItem(
            order=order, product=p, sku=p.sku, name=p.name, unit_price=p.price, quantity=q, total_price=p.price * q
        )
        for p, q in lines
    ]
    log = [
        transition_log_entry(
            order,
            field="status",
            source="",
            target=order.status,
            name="place",
            actor=client,
            reason=str(_("Order placed")),
        )
    ]
    if held:
        log.append(
            transition_log_entry(
                order,
                field="review_status",
                source="",
                target=order.review_status,
                name="hold",
                actor=client.get_username(),
                reason=str(_("Repeated identical orders")),
            )
        )
    if order_id is None:
        OrderItem.objects.bulk_create(items)
        TransitionLog.objects.bulk_create(log)
    else:
        insert_together((Order, [order]), (OrderItem, items), (TransitionLog, log))
    prefetched(order, items=items, payments=[], shipments=[], returns=[])
    return order


def order_place(
    *,
    client: AbstractBaseUser,
    customer: dict[str, Any],
    items: list[dict[str, Any]],
    coupon_code: str | None = None,
    shipping_method: str = "standard",
    currency: str | None = None,
    note: str = "",
    allow_duplicate: bool = False,
    language: str | None = None,
) -> Order:
    """Place an order for a storefront: stock reserved for every line, or nothing at all.

    Everything is read in the transaction's first statement (selectors.placement_reads) and checked before
    anything is written; the stock is touched last, so a hot SKU's row is locked only until the commit. Joins
    the caller's transaction when there is one (the API records the Idempotency-Key in it).
    """
    now = timezone.now()
    currency = currency or settings.SHOP_CURRENCY
    with transaction.atomic(savepoint=False):
        reads = placement_reads(  # the lock: this customer's same lines, whatever they cost
            lock=_content_hash(customer["id"], [(i["sku"], i["quantity"]) for i in items], Decimal(0)),
            identifiers=[customer["email"].lower(), customer["id"]],
            skus=[i["sku"] for i in items],
        )
        if reads.blocked:
            raise CustomerBlocked()
        _check_products(items, currency, reads.products)
        lines = [(reads.products[i["sku"]], i["quantity"]) for i in items]
        coupon, pricing = _price(lines, shipping_method, coupon_code, now)
        stock_plan(lines=lines, available=reads.available)  # refuse a short order before writing anything
        content_hash = _content_hash(customer["id"], [(p.sku, q) for p, q in lines], pricing.total)
        address = customer["address"]
        fields = dict(
            client=client,
            customer_id=customer["id"],
            customer_name=customer["name"],
            customer_email=customer["email"],
            customer_phone=customer["phone"],
            street=address["street"],
            city=address["city"],
            province=address.get("province", ""),
            postal_code=address["postal_code"],
            country=address["country"],
            shipping_method=shipping_method,
            language=language or settings.CUSTOMER_DEFAULT_LANGUAGE,
            currency=currency,
            note=note,
            coupon=coupon,
            subtotal=pricing.subtotal,
            shipping=pricing.shipping,
            tax=pricing.tax,
            discount=pricing.discount,
            total=pricing.total,
            content_hash=content_hash,
            source=client.get_username(),  # storefront users are named `api:<storefront>`
            created_at=now,
            reservation_expires_at=now + timedelta(minutes=settings.RESERVATION_MINUTES),
        )
        held = _hold_for_review(
            client=client,
            customer_id=customer["id"],
            content_hash=content_hash,
            now=now,
            allow_duplicate=allow_duplicate,
        )
        order = _order_create(fields=fields, lines=lines, held=held, client=client, order_id=reads.order_id)
        if coupon:
            _use_coupon(coupon)
        about_order(order.number)
        emit("order.placed", order=order, in_hand=True)  # the order and every related row as just written
        stock_reserve_lines(
            holder=order.number,
            lines=lines,
            available=reads.available,
            expires_at=order.reservation_expires_at,
            actor=order.source,
        )
    return order


def _lock_order(number: str) -> Order:
    about_order(number)  # every line logged from here on is about this order
    order = row_lock(Order, number, by="number")
    if order is None:
        raise Order.DoesNotExist(f"no order {number}")
    return order


def order_lock(*, number: str) -> Order:
    """Lock an order row for the rest of the caller's transaction (payments lock it before their own rows)."""
    require_transaction("order_lock")
    return _lock_order(number)


def _label(actor: Actor) -> str:
    return actor_parts(actor)[0]


def order_confirm_payment(*, order: Order, actor: Actor, reason: str = "") -> str:
    """Apply a confirmed payment to a locked order; returns what happened.

    `confirmed`: the pending order's reservation is committed. `confirmed_late`: the order had closed or
    been cancelled and its stock could be reserved again. `pending_restock`: paid, but the stock is gone.
    `already_paid`: the order was paid before (a second payment, for finance to refund).
    """
    if order.payment_status == PaymentStatus.PAID or order.status not in (
        OrderStatus.PENDING,
        OrderStatus.CLOSED,
        OrderStatus.CANCELLED,
    ):
        return "already_paid"
    transition_apply(order, "mark_paid", actor=actor, reason=reason)
    if order.status == OrderStatus.PENDING:
        transition_apply(order, "confirm", actor=actor, reason=reason)
        save_fields(order, ["status", "payment_status", "updated_at"])
        stock_commit(holder=order.number, actor=_label(actor), note="paid")
        emit("order.paid", order=order)
        return "confirmed"
    lines = [(item.product, item.quantity) for item in order.items.select_related("product")]
    try:
        with transaction.atomic():  # a savepoint: a failed re-reservation leaves the payment standing
            stock_reserve_lines(holder=order.number, lines=lines, expires_at=timezone.now(), actor=_label(actor))
            stock_commit(holder=order.number, actor=_label(actor), note="paid late")
    except OutOfStock:
        transition_apply(order, "await_restock", actor=actor, reason=str(_("Paid late; the stock is gone")))
        order.backordered_at = timezone.now()
        order.save(update_fields=["status", "payment_status", "backordered_at", "updated_at"])
        emit("order.backordered", order=order)
        return "pending_restock"
    transition_apply(order, "confirm_late", actor=actor, reason=str(_("Paid late; stock reserved again")))
    order.save(update_fields=["status", "payment_status", "updated_at"])
    emit("order.paid", order=order)
    return "confirmed_late"


def order_payment_failed(
    *, order: Order, actor: Actor, definitive: bool, other_attempt_open: bool, reason: str = ""
) -> bool:
    """A payment attempt failed; the order is cancelled (and its stock released) only when the failure is
    definitive and no other attempt is still open. Returns whether the order was cancelled."""
    if order.status != OrderStatus.PENDING:
        return False
    fields = []
    if order.payment_status == PaymentStatus.PENDING:
        transition_apply(order, "mark_payment_failed", actor=actor, reason=reason)
        fields.append("payment_status")
    cancel = definitive and not other_attempt_open
    if cancel:
        transition_apply(order, "cancel", actor=actor, reason=reason or str(_("Payment failed")))
        fields.append("status")
    if fields:
        order.save(update_fields=[*fields, "updated_at"])
    if cancel:
        stock_release(holder=order.number, actor=_label(actor), note="payment failed")
        _give_back_coupons([order])
    if fields:
        emit("order.payment_failed", order=order, cancelled=cancel)
    return cancel


def order_refund(*, order: Order, actor: Actor, reason: str = "") -> int:
    """A full refund: the order moves to `refunded`, its fulfillment stops (open shipments are cancelled by
    the `order.refunded` handlers), and stock that never shipped goes back on hand, in the caller's
    transaction. Returns the units returned to stock. The order must be locked by the caller."""
    transition_apply(order, "refund", actor=actor, reason=reason)
    fields = ["status"]
    if order.payment_status == PaymentStatus.PAID:
        transition_apply(order, "mark_refunded", actor=actor, reason=reason)
        fields.append("payment_status")
    order.save(update_fields=[*fields, "updated_at"])
    left = {
        warehouse for warehouses in emit("order.refunded", order=order, actor=actor) for warehouse in warehouses or ()
    }
    return stock_return(
        holder=order.number, actor=_label(actor), note="refunded before shipping", except_warehouses=left
    )


def order_cancel(*, number: str, actor: Actor, reason: str = "", check_permission: bool = False) -> Order:
    """Cancel a pending order and release its stock, once, whoever races it (expiry, payment)."""
    with transaction.atomic():
        order = _lock_order(number)
        transition_apply(
            order, "cancel", actor=actor, reason=reason or str(_("Cancelled")), check_permission=check_permission
        )
        order.save(update_fields=["status", "updated_at"])
        stock_release(holder=order.number, actor=_label(actor), note="order cancelled")
        _give_back_coupons([order])
        emit("order.cancelled", order=order, reason=reason)
    return order


def order_close_expired(batch_size: int = 200, *, now: datetime | None = None) -> int:
    """Close one batch of pending orders whose reservation expired; returns how many it closed.

    The batch is locked with SKIP LOCKED and re-checked inside the lock, so sweeps side by side, or a cancel
    or payment arriving at the same moment, never close or release anything twice. Stock is released last,
    in one pass for the batch, so stock rows are held only for the end of the transaction.
    """
    now = now or timezone.now()
    actor = "task:close_expired_orders"
    reason = str(_("Reservation expired unpaid"))
    with transaction.atomic(), writes_at_end(updates=False), left_to_sweeps():
        orders = list(
            lock_or_skip(
                Order.objects.filter(status=OrderStatus.PENDING, reservation_expires_at__lte=now).order_by(
                    "reservation_expires_at"
                )
            )[:batch_size]
        )
        for order in orders:
            transition_apply(order, "close", actor=actor, reason=reason)
            order.updated_at = now
        Order.objects.filter(pk__in=[o.pk for o in orders]).update(status=OrderStatus.CLOSED, updated_at=now)
        for order in orders:
            emit("order.closed", order=order)
        _give_back_coupons(orders)
        stock_release_many(holders=[o.number for o in orders], actor=actor, note="reservation expired")
    return len(orders)


def order_release_review(*, number: str, actor: Actor, reason: str = "", check_permission: bool = False) -> Order:
    """Staff let an order held for review go on to fulfillment."""
    with transaction.atomic():
        order = _lock_order(number)
        transition_apply(
            order,
            "release_review",
            actor=actor,
            reason=reason or str(_("Reviewed by staff")),
            check_permission=check_permission,
        )
        order.save(update_fields=["review_status", "updated_at"])
        if order.status == OrderStatus.CONFIRMED:
            emit("order.released", order=order)
    return order


def order_start_processing(*, number: str, actor: Actor, reason: str = "", check_permission: bool = False) -> Order:
    """The picking list went to the warehouse."""
    with transaction.atomic():
        order = _lock_order(number)
        if order.is_held:
            raise InvalidTransition(_("The order is held for review."), status=order.status)
        transition_apply(order, "start_processing", actor=actor, reason=reason, check_permission=check_permission)
        order.save(update_fields=["status", "updated_at"])
    return order


def order_processing_timed(*, order: Order, **payload) -> None:
    """The picking lists went out (order.processing): keep how long that took us, from the moment the order was
    ready (confirmed, or released from review) — the customer's payment wait and a back-order's wait for stock
    excluded — and tell staff once when it is over SLOW_ORDER_SECONDS."""
    ready = order_reached_at(
        order=order,
        condition=Q(field="status", target=OrderStatus.CONFIRMED)
        | Q(field="review_status", target=ReviewStatus.RELEASED),
    )
    if ready is None:
        return
    order.processing_seconds = max((timezone.now() - ready).total_seconds(), 0.0)
    save_fields(order, ["processing_seconds"])
    if order.processing_seconds > settings.SLOW_ORDER_SECONDS:
        emit("order.slow", order=order, seconds=order.processing_seconds)


def phone_e164(raw: str, *, region: str) -> str | None:
    """A customer's phone as E.164 (`+8613800138000`), read in the address's country; None if not a number."""
    try:
        number = phonenumbers.parse(raw, region.upper())
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def order_contact_check(*, order: Order, changes: dict[str, str]) -> dict[str, str]:
    """The corrected customer details, cleaned as placement cleans them; raises OrderValidationError naming
    each refused field. The address cannot change once a parcel is with the carrier."""
    errors: dict[str, list[str]] = {}
    cleaned = {}
    for field, value in changes.items():
        value = str(value).strip()
        if field not in CUSTOMER_CONTACT + CUSTOMER_ADDRESS:
            errors[field] = [str(_("This field cannot be changed here."))]
        elif not value and field != "province":
            errors[field] = [str(_("This field is required."))]
        elif field in CUSTOMER_ADDRESS and order.status in (
            OrderStatus.SHIPPED,
            OrderStatus.DELIVERED,
            OrderStatus.COMPLETED,
        ):
            errors[field] = [str(_("The parcel is already with the carrier: the address cannot change."))]
        else:
            cleaned[field] = value.lower() if field == "customer_email" else value
    if "customer_phone" in cleaned:
        phone = phone_e164(cleaned["customer_phone"], region=cleaned.get("country", order.country))
        if phone is None:
            errors["customer_phone"] = [str(_("Enter a valid phone number."))]
        else:
            cleaned["customer_phone"] = phone
    if "country" in cleaned:
        cleaned["country"] = cleaned["country"].upper()
    if errors:
        raise OrderValidationError(errors=errors)
    return cleaned


def order_update_contact(*, number: str, changes: dict[str, str], actor: Actor) -> list[OrderEdit]:
    """Customer service corrects the customer's contact details or address; each changed field is recorded
    with who changed it from what to what, in the change's transaction."""
    label, user = actor_parts(actor)
    with transaction.atomic():
        order = _lock_order(number)
        cleaned = order_contact_check(order=order, changes=changes)
        edits = []
        for field, value in cleaned.items():
            old = getattr(order, field)
            if old != value:
                setattr(order, field, value)
                edits.append(
                    OrderEdit(order=order, field=field, old_value=old, new_value=value, actor=label, user=user)
                )
        if edits:
            order.save(update_fields=[e.field for e in edits] + ["updated_at"])
            OrderEdit.objects.bulk_create(edits)
    return edits


def order_complete_delivered(*, now: datetime | None = None) -> int:
    """Delivered orders whose after-sales window has passed are completed."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.AFTER_SALES_DAYS)
    done = 0
    open_returns = Return.objects.filter(status__in=OPEN_RETURN).values("order_id")
    due = Order.objects.filter(status=OrderStatus.DELIVERED, delivered_at__lte=cutoff).exclude(pk__in=open_returns)
    for number in due.values_list("number", flat=True):  # not while a return is open
        with transaction.atomic():
            order = Order.objects.select_for_update().get(number=number)
            if order.status == OrderStatus.DELIVERED:
                transition_apply(
                    order, "complete", actor="task:complete_orders", reason=str(_("After-sales window passed"))
                )
                order.save(update_fields=["status", "updated_at"])
                emit("order.completed", order=order)
                done += 1
    return done


def idempotency_keys_purge(*, now: datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - timedelta(hours=max(settings.IDEMPOTENCY_KEY_TTL_HOURS, 24))
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


# --- storefront keys ------------------------------------------------------------------------------------------
def storefront_key_issue(*, name: str) -> tuple[StorefrontKey, str]:
    """Create storefront NAME's client if new, revoke its keys, and return a new key (shown only now)."""
    with transaction.atomic():
        client, created = get_user_model().objects.get_or_create(username=f"api:{name}"[:150])
        if created:
            client.set_unusable_password()
            client.save(update_fields=["password"])
        return _key_replace(client=client, name=name)


def storefront_key_rotate(*, key: StorefrontKey, actor: Actor) -> tuple[StorefrontKey, str]:
    """Revoke a key and issue its storefront a new one: the storefront's orders stay its own."""
    with transaction.atomic():
        new_key = _key_replace(client=key.client, name=key.name)
    logger.info("API key %s of %s rotated by %s", key.prefix, key.client, _label(actor))
    return new_key


def _key_replace(*, client, name: str) -> tuple[StorefrontKey, str]:
    StorefrontKey.objects.filter(client=client, revoked=False).update(revoked=True)
    return StorefrontKey.objects.create_key(client=client, name=name[:50])


def order_comment_add(*, number: str, text: str, actor: Actor) -> OrderComment:
    """A staff member's internal note on an order; who and when are kept, and it shows in the timeline."""
    text = text.strip()
    if not text:
        raise OrderValidationError(_("Write the comment first."))
    label, user = actor_parts(actor)
    order = Order.objects.only("pk").get(number=number)
    return OrderComment.objects.create(order=order, text=text[:2000], actor=label[:150], user=user)


def order_backorders_allocate(*, stock_item, actor: str, reference: str = "", **payload) -> list[str]:
    """`stock.arrived` handler, in the transaction that brought the stock: each back-ordered order with
    that product gets its stock, oldest back-order first, if every line can be served now (one that cannot
    keeps its place and waits for the next arrival). Served orders are confirmed and go on to fulfilment.
    Returns the numbers served."""
    with_product = OrderItem.objects.filter(product_id=stock_item.product_id).values("order_id")
    waiting = list(
        Order.objects.select_for_update()
        .filter(status=OrderStatus.PENDING_RESTOCK, pk__in=with_product)
        .order_by("backordered_at", "id")
    )
    served = []
    for order in waiting:
        lines = [(item.product, item.quantity) for item in order.items.select_related("product")]
        try:
            with transaction.atomic():  # a savepoint: an order that cannot be served leaves nothing reserved
                stock_reserve_lines(holder=order.number, lines=lines, expires_at=timezone.now(), actor=actor)
                stock_commit(holder=order.number, actor=actor, note="back-order allocated")
        except OutOfStock:
            continue
        reason = str(_("Stock arrived (%(reference)s)") % {"reference": reference}) if reference else ""
        transition_apply(order, "allocate_restock", actor=actor, reason=reason or str(_("Stock arrived")))
        order.save(update_fields=["status", "updated_at"])
        emit("order.backorder_allocated", order=order, actor=actor)
        served.append(order.number)
    if served:
        logger.info("back-orders served by new stock", extra={"orders": served, "reference": reference})
    return served
