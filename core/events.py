"""In-transaction events: how an app tells the apps that build on it that something happened, without
importing them.

A service calls `emit("order.paid", order=order)` inside the transaction of the change; every handler an
app registered with `subscribe` (in its `AppConfig.ready()`) runs there and then, writes its own durable
row (a notification, later a webhook delivery) and enqueues its work on commit. So a rolled-back change
emits nothing that lasts, a dead worker or broker loses nothing (the rows are swept), and a handler that
raises rolls the change back. Deliberately not Django signals: one explicit registry, keyword payloads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from core.db import writes_flush

Handler = Callable[..., object]
_handlers: dict[str, list[Handler]] = defaultdict(list)

# The events the apps emit, and what each carries.
EVENTS = {
    "order.placed": "order",
    "order.paid": "order (confirmed, or confirmed again after it had closed)",
    "order.backordered": "order (paid after it closed, and the stock is gone)",
    "order.backorder_allocated": "order, actor (a back-order got its stock: confirmed again)",
    "order.cancelled": "order, reason (cancelled by the customer or staff)",
    "order.closed": "order (closed unpaid when its reservation ran out)",
    "order.payment_failed": "order, cancelled (an attempt failed; cancelled: the failure closed the order)",
    "return.requested": "order, ret (a customer asked to return items)",
    "return.approved": "order, ret",
    "return.rejected": "order, ret (ret.decision says why)",
    "return.received": "order, ret (each line restocked or written off)",
    "return.refunded": "order, ret",
    "stock.arrived": "stock_item, actor, reference (on hand rose: a receipt, a count, a transfer in)",
    "order.released": "order (released from review, confirmed)",
    "order.processing": "order (picking lists went to the warehouses)",
    "order.slow": "order, seconds (our own processing took longer than SLOW_ORDER_SECONDS)",
    "order.shipped": "order (every shipment handed to a carrier)",
    "order.delivered": "order (every shipment delivered)",
    "order.completed": "order (the after-sales window passed)",
    "order.refunded": "order, actor (refunded in full; a handler may return warehouse ids whose goods left)",
    "payment.late": "order, payment (paid after the order closed, or paid twice)",
    "payment.amount_mismatch": "order, payment, detail",
    "shipment.updated": "order, shipment, tracking_event (the shipment's newest news changed)",
    "webhook.endpoint_disabled": "endpoint (every delivery to it failed for days: staff are told)",
}


def subscribe(event: str, handler: Handler) -> None:
    if event not in EVENTS:
        raise ValueError(f"unknown event {event}")
    if handler not in _handlers[event]:
        _handlers[event].append(handler)


def emit(event: str, **payload) -> list:
    """Run every handler of `event` now, in the caller's transaction; returns their answers."""
    if event not in EVENTS:
        raise ValueError(f"unknown event {event}")
    writes_flush()  # the handlers read the database: what the caller wrote must be there
    return [handler(**payload) for handler in _handlers[event]]
