"""What customers and staff hear, for each event the other apps emit. Each handler runs inside the causing
transaction and writes the Notification rows there (sent by a task on commit, or swept if that is lost)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from core.events import subscribe

from .models import Event
from .services import notification_send


def _tell(event: str):
    def handler(*, order, **payload):
        notification_send(event=event, order=order)

    handler.__qualname__ = f"tell_{event}"
    return handler


def delivered(*, order, **payload) -> None:
    notification_send(event=Event.DELIVERED, order=order)
    notification_send(
        event=Event.REVIEW_INVITATION,
        order=order,
        due_at=order.delivered_at + timedelta(hours=settings.REVIEW_INVITATION_HOURS),
    )


def late_payment(*, order, payment, **payload) -> None:
    notification_send(event=Event.LATE_PAYMENT, order=order, subject=f"{order.number}:{payment.reference}")


def amount_mismatch(*, order, payment, detail: str, **payload) -> None:
    notification_send(
        event=Event.AMOUNT_MISMATCH,
        order=order,
        subject=f"{order.number}:{payment.reference}",
        context={"detail": detail},
    )


def shipment_updated(*, order, shipment, tracking_event, **payload) -> None:
    from fulfillment.models import TrackingEvent

    subject = f"{order.number}:{tracking_event.carrier_event_id}"
    if tracking_event.status == "exception":
        notification_send(
            event=Event.SHIPMENT_EXCEPTION,
            order=order,
            subject=subject,
            context={"tracking_number": shipment.tracking_number, "description": tracking_event.description},
        )
    if tracking_event.status in ("out_for_delivery", "exception"):
        notification_send(
            event=Event.DELIVERY_UPDATE,
            order=order,
            subject=subject,
            context={
                "status_label": str(TrackingEvent.Status(tracking_event.status).label),
                "location": tracking_event.location,
            },
        )


def payment_failed(*, order, cancelled: bool, **payload) -> None:
    """Once per order: the customer may still pay with another attempt (unless the failure closed it)."""
    notification_send(event=Event.PAYMENT_FAILED, order=order, context={"cancelled": cancelled})


def _about_return(event: str):
    def handler(*, order, ret, **payload):
        context = {"return_number": ret.number, "refund_amount": f"{ret.refund_amount:.2f}", "decision": ret.decision}
        notification_send(event=event, order=order, subject=ret.number, context=context)

    handler.__qualname__ = f"tell_{event}"
    return handler


def webhook_disabled(*, endpoint, **payload) -> None:
    notification_send(
        event=Event.WEBHOOK_DISABLED,
        subject=f"webhook:{endpoint.pk}:{endpoint.failing_since:%Y%m%d%H%M%S}",
        context={"url": endpoint.url, "failing_since": endpoint.failing_since.isoformat()},
    )


def slow_order(*, order, seconds: float, **payload) -> None:
    notification_send(
        event=Event.SLOW_ORDER,
        order=order,
        subject=f"slow:{order.number}",
        context={"seconds": round(seconds), "limit": settings.SLOW_ORDER_SECONDS},
    )


def register() -> None:
    subscribe("order.placed", _tell(Event.ORDER_PLACED))
    subscribe("order.paid", _tell(Event.PAYMENT_CONFIRMED))
    subscribe("order.backordered", _tell(Event.BACK_ORDERED))
    subscribe("order.backorder_allocated", _tell(Event.BACKORDER_ALLOCATED))
    subscribe("order.payment_failed", payment_failed)
    subscribe("order.cancelled", _tell(Event.ORDER_CANCELLED))
    subscribe("order.closed", _tell(Event.ORDER_CLOSED))
    subscribe("order.refunded", _tell(Event.ORDER_REFUNDED))
    subscribe("return.requested", _about_return(Event.RETURN_REQUESTED))
    subscribe("return.approved", _about_return(Event.RETURN_APPROVED))
    subscribe("return.rejected", _about_return(Event.RETURN_REJECTED))
    subscribe("return.refunded", _about_return(Event.RETURN_REFUNDED))
    subscribe("order.processing", _tell(Event.PROCESSING))
    subscribe("order.shipped", _tell(Event.SHIPPED))
    subscribe("order.delivered", delivered)
    subscribe("payment.late", late_payment)
    subscribe("payment.amount_mismatch", amount_mismatch)
    subscribe("shipment.updated", shipment_updated)
    subscribe("webhook.endpoint_disabled", webhook_disabled)
    subscribe("order.slow", slow_order)
