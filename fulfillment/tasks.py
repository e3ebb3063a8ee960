from celery import shared_task
from django.conf import settings

from core.sweeps import helpers_of, sweep

from . import services


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def start_fulfillment(order_number: str) -> int:
    """Picking list for a confirmed order; running it twice creates nothing twice."""
    return len(services.shipment_create_for_order(order_number=order_number, actor="task:start_fulfillment"))


@shared_task(acks_late=True)
def poll_tracking(helper: bool = False) -> int:
    """Every minute: shipments due a check asked about until none is left (50,000 in transit every 4 h)."""
    return sweep(
        lambda size: services.tracking_poll_batch(size)[0],
        batch_size=50,
        budget_seconds=settings.SWEEP_SECONDS["tracking"],
        helper=helper,
        enqueue=helpers_of(poll_tracking),
    )


@shared_task(acks_late=True)
def sweep_unfulfilled() -> int:
    """Confirmed orders whose fulfillment task never ran (broker down, worker died) get their picking list;
    each order is tried once a run (one without stock for its lines stays waiting)."""
    tried: set[str] = set()

    def step(size: int) -> int:
        numbers = services.orders_awaiting_fulfillment(limit=size, exclude=tried)
        tried.update(numbers)
        for number in numbers:
            services.shipment_create_for_order(order_number=number, actor="task:sweep_unfulfilled")
        return len(numbers)

    return sweep(step, batch_size=200, budget_seconds=settings.SWEEP_SECONDS["unfulfilled"])


def fulfillment_requested(*, order, **payload) -> None:
    """`order.paid` / `order.released` handler: ask for the picking list once the change commits. The order
    itself (confirmed, without shipments) is the durable request: the sweep finds it if this message is lost."""
    from config.celery_app import enqueue_on_commit

    enqueue_on_commit(start_fulfillment, order.number)
