from celery import shared_task
from django.conf import settings

from core.sweeps import helpers_of, sweep

from . import services


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def close_expired_orders(helper: bool = False) -> int:
    """Every minute: close unpaid orders whose reservation expired, until none is left (core/sweeps.py)."""
    return sweep(
        services.order_close_expired,
        batch_size=200,
        budget_seconds=settings.SWEEP_SECONDS["expiry"],
        helper=helper,
        enqueue=helpers_of(close_expired_orders),
    )


@shared_task(acks_late=True)
def purge_idempotency_keys() -> int:
    return services.idempotency_keys_purge()


@shared_task(acks_late=True)
def complete_delivered_orders() -> int:
    return services.order_complete_delivered()
