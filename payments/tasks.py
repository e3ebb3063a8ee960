import uuid

from celery import shared_task
from django.conf import settings

from core.sweeps import helpers_of, sweep

from . import services


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def query_stale_payments(helper: bool = False, round_id: str = "") -> int:
    """Ask gateways about payments pending too long (their callback may never come), each once per round;
    helpers share the round, and so does a beat tick that comes while the round still runs, so none asks twice."""
    round_id = round_id or str(services.stale_query_round())
    return sweep(
        lambda size: services.payments_query_batch(size, round_id=uuid.UUID(round_id))[0],
        batch_size=50,
        budget_seconds=settings.SWEEP_SECONDS["stale_payments"],
        helper=helper,
        enqueue=helpers_of(query_stale_payments, round_id=round_id),
    )


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def apply_payment_inbox(helper: bool = False) -> int:
    """Apply the callbacks the endpoint has answered and queued: woken by the callbacks themselves (a
    message per WAKE_DELAY_SECONDS per web process), and by the beat, for a wake lost with its broker."""
    return sweep(
        services.payments_inbox_batch,
        batch_size=50,
        budget_seconds=settings.SWEEP_SECONDS["payment_inbox"],
        helper=helper,
        enqueue=helpers_of(apply_payment_inbox),
    )
