from celery import shared_task

from . import services


@shared_task(acks_late=True)
def deliver_webhook(delivery_id: int) -> str:
    """One delivery, enqueued on commit; a failure is rescheduled by due time on the row, not by a countdown."""
    return services.webhook_deliver(delivery_id=delivery_id)


@shared_task(acks_late=True)
def sweep_webhooks() -> int:
    return services.webhook_sweep()
