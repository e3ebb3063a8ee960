from celery import shared_task

from . import services


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def query_stale_payments() -> int:
    """Ask gateways about payments pending too long (their callback may never come)."""
    return services.payment_query_stale()
