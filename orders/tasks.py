from celery import shared_task

from . import services


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def close_expired_orders() -> int:
    """Every minute: close unpaid orders whose reservation expired (safe to run in parallel)."""
    return services.order_close_expired()


@shared_task(acks_late=True)
def purge_idempotency_keys() -> int:
    return services.idempotency_keys_purge()


@shared_task(acks_late=True)
def complete_delivered_orders() -> int:
    return services.order_complete_delivered()
