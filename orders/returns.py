"""After-sales returns: the customer asks, staff approve or reject, the parcel is received (each line
restocked through the ledger or written off), and payments refunds it (`payments.services.payment_refund_return`).
Every step is a transition of the return, logged with its actor, and an event the customer hears about."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import ApplicationError, InvalidTransition
from core.events import emit
from core.fsm import Actor, actor_parts, transition_apply, transition_log_entry
from inventory.models import StockItem, Warehouse
from inventory.services import stock_return_receive

from .models import OPEN_RETURN, Order, OrderStatus, Return, ReturnLine, ReturnStatus
from .services import OrderValidationError, order_lock

CENT = Decimal("0.01")


class ReturnWindowClosed(ApplicationError):
    code = "return_window_closed"
    default_detail = _("The return window for this order has closed.")


def _refund_share(item, quantity: int, order: Order) -> Decimal:
    """The lines' paid share: unit price times quantity less that share of the order's discount, to the cent."""
    gross = item.unit_price * quantity
    if not order.discount or not order.subtotal:
        return gross
    return (gross - order.discount * gross / order.subtotal).quantize(CENT, rounding=ROUND_HALF_UP)


def return_request(*, order: Order, items: list[dict[str, Any]], reason: str, note: str, actor: Actor) -> Return:
    """A storefront's return request for a delivered order (already scoped to that storefront)."""
    with transaction.atomic():
        order = order_lock(number=order.number)
        if order.status not in (OrderStatus.DELIVERED, OrderStatus.COMPLETED):
            raise InvalidTransition(_("Only a delivered order can be returned."), status=order.status)
        delivered = order.delivered_at or order.updated_at
        if timezone.now() > delivered + timedelta(days=settings.RETURN_WINDOW_DAYS):
            raise ReturnWindowClosed(days=settings.RETURN_WINDOW_DAYS)
        by_sku = {i.sku: i for i in order.items.all()}
        already = dict(
            ReturnLine.objects.filter(ret__order=order, ret__status__in=[*OPEN_RETURN, ReturnStatus.REFUNDED])
            .values_list("sku")
            .annotate(n=Sum("quantity"))
        )
        wanted: dict[str, int] = defaultdict(int)
        for line in items:
            wanted[line["sku"]] += line["quantity"]
        errors = {}
        for sku, quantity in wanted.items():
            if sku not in by_sku:
                errors[sku] = [str(_("Not an item of this order."))]
            elif quantity > by_sku[sku].quantity - already.get(sku, 0):
                left = by_sku[sku].quantity - already.get(sku, 0)
                errors[sku] = [str(_("At most %(n)d can still be returned.") % {"n": left})]
        if errors:
            raise OrderValidationError(errors={"items": errors})
        lines = [(by_sku[sku], q, _refund_share(by_sku[sku], q, order)) for sku, q in wanted.items()]
        promised = Return.objects.filter(order=order).exclude(
            status__in=[ReturnStatus.REJECTED, ReturnStatus.CANCELLED]
        ).aggregate(s=Sum("refund_amount"))["s"] or Decimal(0)
        total = min(sum((amount for _i, _q, amount in lines), Decimal(0)), order.total - promised)
        ret = Return.objects.create(order=order, reason=reason, note=note, refund_amount=total)
        ReturnLine.objects.bulk_create(
            [ReturnLine(ret=ret, item=i, sku=i.sku, quantity=q, refund_amount=amount) for i, q, amount in lines]
        )
        transition_log_entry(
            ret,
            field="status",
            source="",
            target=ret.status,
            name="request",
            actor=actor,
            reason=str(ret.get_reason_display()),
        ).save()
        emit("return.requested", order=order, ret=ret)
    return ret


def _locked(number: str) -> Return:
    return Return.objects.select_for_update().select_related("order").get(number=number)


def return_decide(*, number: str, approve: bool, actor: Actor, reason: str = "") -> Return:
    """Staff approve a requested return, or reject it with the reason the customer is told."""
    if not approve and not reason.strip():
        raise OrderValidationError(errors={"reason": [str(_("Say why the return is rejected."))]})
    with transaction.atomic():
        ret = _locked(number)
        transition_apply(ret, "approve" if approve else "reject", actor=actor, reason=reason, check_permission=True)
        ret.decision = reason[:500]
        ret.save(update_fields=["status", "decision", "updated_at"])
        emit("return.approved" if approve else "return.rejected", order=ret.order, ret=ret)
    return ret


def return_receive(*, number: str, lines: dict[int, tuple[Warehouse | None, str]], actor: Actor) -> Return:
    """The parcel arrived: each line is restocked into a warehouse through the ledger, or written off with
    a reason. `lines` maps each line's id to (warehouse, "") or (None, reason)."""
    label, _user = actor_parts(actor)
    with transaction.atomic():
        ret = _locked(number)
        transition_apply(ret, "receive", actor=actor, check_permission=True)
        for line in ret.lines.select_related("item"):
            warehouse, write_off = lines.get(line.pk, (None, ""))
            if warehouse is None and not write_off.strip():
                raise OrderValidationError(errors={"lines": [str(_("Restock or write off every line."))]})
            if warehouse is not None:
                item, _created = StockItem.objects.get_or_create(product_id=line.item.product_id, warehouse=warehouse)
                stock_return_receive(stock_item=item, quantity=line.quantity, actor=label, reference=ret.number)
                line.restocked_to = warehouse
            else:
                line.write_off_reason = write_off[:255]
            line.save(update_fields=["restocked_to", "write_off_reason"])
        ret.save(update_fields=["status", "updated_at"])
        emit("return.received", order=ret.order, ret=ret)
    return ret


def return_cancel(*, order: Order, number: str, actor: Actor) -> Return:
    """The customer withdrew the return before sending anything."""
    with transaction.atomic():
        ret = _locked(number)
        if ret.order_id != order.pk:
            raise Return.DoesNotExist
        transition_apply(ret, "cancel", actor=actor, reason=str(_("Withdrawn by the customer")))
        ret.save(update_fields=["status", "updated_at"])
    return ret


def return_mark_refunded(*, ret: Return, actor: Actor, reason: str) -> None:
    """payments' refund went through (called under its locks): the return is done."""
    transition_apply(ret, "refund", actor=actor, reason=reason)
    ret.save(update_fields=["status", "updated_at"])
    emit("return.refunded", order=ret.order, ret=ret)
