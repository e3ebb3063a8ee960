"""Which of the apps' events become outgoing webhooks, and under which contract event type."""

from core.events import subscribe

from .services import webhook_event_record

ORDER_EVENTS = [
    "order.placed",
    "order.paid",
    "order.cancelled",
    "order.closed",
    "order.backordered",
    "order.shipped",
    "order.delivered",
    "order.completed",
    "order.refunded",
    "shipment.updated",
]
RETURN_EVENTS = ["return.requested", "return.approved", "return.rejected", "return.refunded"]


def _record(event_type: str):
    def handler(*, order, ret=None, in_hand=False, **payload) -> None:  # None: "order.refunded" collects answers
        webhook_event_record(type=event_type, order=order, ret=ret, in_hand=in_hand)

    handler.__qualname__ = f"webhook_{event_type}"
    return handler


def register() -> None:
    for event_type in ORDER_EVENTS + RETURN_EVENTS:
        subscribe(event_type, _record(event_type))
