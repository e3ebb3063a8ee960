from celery import shared_task

from . import services


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def start_fulfillment(order_number: str) -> int:
    """Picking list for a confirmed order; running it twice creates nothing twice."""
    return len(services.shipment_create_for_order(order_number=order_number, actor="task:start_fulfillment"))


@shared_task(acks_late=True)
def poll_tracking() -> int:
    return services.tracking_poll()


@shared_task(acks_late=True)
def sweep_unfulfilled() -> int:
    """Confirmed orders whose fulfillment task never ran (broker down, worker died) get their picking list."""
    return sum(
        len(services.shipment_create_for_order(order_number=n, actor="task:sweep_unfulfilled"))
        for n in services.orders_awaiting_fulfillment()
    )


def fulfillment_requested(*, order, **payload) -> None:
    """`order.paid` / `order.released` handler: ask for the picking list once the change commits. The order
    itself (confirmed, without shipments) is the durable request: the sweep finds it if this message is lost."""
    from config.celery_app import enqueue_on_commit

    enqueue_on_commit(start_fulfillment, order.number)
