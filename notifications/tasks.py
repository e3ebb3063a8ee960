from celery import shared_task
from django.conf import settings

from core.sweeps import helpers_of, sweep

from . import services


@shared_task(acks_late=True)
def deliver_notification(notification_id: int) -> str:
    """One message; a failure is rescheduled by due time on the row, not by a Celery countdown."""
    return services.notification_deliver(notification_id=notification_id)


@shared_task(acks_late=True)
def sweep_notifications(helper: bool = False) -> int:
    """Every 30 s: stalled sends re-queued and staff alerts raised, then what is due sent until none is left.
    Also woken (as a helper) right after a change queues messages."""
    if not helper:
        services.notification_housekeeping()
    return sweep(
        services.notifications_deliver_due,
        batch_size=100,
        budget_seconds=settings.SWEEP_SECONDS["notifications"],
        helper=helper,
        enqueue=helpers_of(sweep_notifications),
    )


@shared_task(acks_late=True)
def send_daily_report() -> None:
    services.daily_report_send()
