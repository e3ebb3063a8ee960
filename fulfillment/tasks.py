from celery import shared_task
from django.conf import settings

from core.sweeps import helpers_of, sweep

from . import services


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def start_fulfillment(order_number: str) -> int:
    """Picking list for one confirmed order; running it twice creates nothing twice. Paid orders are taken by
    the sweep their payment wakes; this serves the sandbox and demo commands (and messages sent before)."""
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
def sweep_unfulfilled(fresh: bool = False) -> int:
    """Confirmed orders without a picking list get one, each tried once a run (one without stock for its lines
    stays waiting). `fresh`: woken just after orders were paid (one message per web or worker process every
    WAKE_DELAY_SECONDS, not one per order), it takes them at once; the beat's run every 30 s takes those
    whose wake was lost (broker down, worker died)."""
    tried: set[str] = set()
    actor = "task:start_fulfillment" if fresh else "task:sweep_unfulfilled"

    def step(size: int) -> int:
        numbers = services.orders_awaiting_fulfillment(older_than_seconds=0 if fresh else 30, limit=size, exclude=tried)
        tried.update(numbers)
        for number in numbers:
            services.shipment_create_for_order(order_number=number, actor=actor, skip_locked=True)
        return len(numbers)

    return sweep(step, batch_size=200, budget_seconds=settings.SWEEP_SECONDS["unfulfilled"])


def fulfillment_requested(*, order, **payload) -> None:
    """`order.paid` / `order.released` handler: ask for the picking list once the change commits. The order
    itself (confirmed, without shipments) is the durable request: the beat's sweep finds it if the wake is lost."""
    from config.celery_app import wake_on_commit

    wake_on_commit(sweep_unfulfilled, fresh=True)
