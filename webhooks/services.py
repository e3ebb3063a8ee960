"""Outgoing webhooks per the Standard Webhooks specification.

An event is recorded with the change that causes it (one event row, one delivery row per endpoint that wants
it), so a rolled-back change sends nothing and a dead worker or broker loses nothing. Deliveries go out by a
worker, in the order the events happened per order and endpoint, and are retried by due time on the
contract's schedule (never a Celery countdown); an endpoint that failed every attempt for days is disabled.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from rest_framework.utils.encoders import JSONEncoder
from standardwebhooks.webhooks import Webhook

from config.celery_app import enqueue_on_commit, wake_on_commit
from core.db import insert_rows, lock_or_skip
from core.events import emit
from core.fsm import Actor, transition_apply
from orders.models import Order
from orders.selectors import order_detail_read
from orders.serializers import ReturnOutput, order_render

from .models import DeliveryStatus, EndpointStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

logger = logging.getLogger(__name__)

# After the first attempt fails: the contract's schedule (about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h).
RETRY_SCHEDULE = [
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
]
ACTOR = "task:webhooks"


# The active endpoints, read once per WEBHOOK_ENDPOINTS_CACHE_SECONDS per process instead of once per event (a
# placement, a callback, each order a sweep closes): an endpoint added or disabled in another process counts
# from at most that long after. A change saved in this process clears it at once (the receiver below).
_active: tuple[float, list[WebhookEndpoint]] | None = None


def active_endpoints() -> list[WebhookEndpoint]:
    global _active
    if _active is None or time.monotonic() - _active[0] >= settings.WEBHOOK_ENDPOINTS_CACHE_SECONDS:
        _active = (time.monotonic(), list(WebhookEndpoint.objects.filter(status=EndpointStatus.ACTIVE)))
    return _active[1]


@receiver([post_save, post_delete], sender=WebhookEndpoint, dispatch_uid="webhooks.forget_active_endpoints")
def active_endpoints_forget(**kwargs) -> None:
    global _active
    _active = None


def webhook_event_record(*, type: str, order: Order, ret=None, in_hand: bool = False) -> WebhookEvent | None:
    """Record one event for every active endpoint that wants it; called inside the causing transaction. The
    body is the order as the storefront API renders it at this moment (and the return, for return events):
    read back, unless the caller wrote the order and holds all its related rows (`in_hand`: a placement).
    The deliveries' worker is woken once the transaction commits (at most one message per process and
    WAKE_DELAY_SECONDS, not one per delivery: a placement publishes nothing of its own)."""
    endpoints = [e for e in active_endpoints() if e.wants(type)]
    if not endpoints:
        return None
    now = timezone.now()
    data = {"order": order_render(order if in_hand else order_detail_read(order.pk))}
    if ret is not None:
        data["return"] = ReturnOutput(ret).data
    body = json.dumps({"type": type, "timestamp": now.isoformat(), "data": data}, cls=JSONEncoder, ensure_ascii=False)
    event = WebhookEvent(type=type, order=order, body=body, created_at=now)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                _record_sql(len(endpoints)),
                [event.message_id, type, order.pk, body, now, order.pk, DeliveryStatus.PENDING, now, now]
                + [e.pk for e in endpoints],
            )
            event.pk = cursor.fetchone()[0]
    else:  # SQLite (`make run`)
        insert_rows([event])
        insert_rows([WebhookDelivery(event=event, endpoint=e, order=order, next_attempt_at=now) for e in endpoints])
    from .tasks import sweep_webhooks

    wake_on_commit(sweep_webhooks)
    return event


@functools.cache
def _record_sql(endpoints: int) -> str:
    """An event and its deliveries in one statement, the deliveries taking the event's id from its INSERT: on
    every placement and payment when a shop has an endpoint, where the two INSERTs were two round trips."""
    return (
        "WITH e AS (INSERT INTO webhooks_webhookevent (message_id, type, order_id, body, created_at) "
        "VALUES (%s, %s, %s, %s, %s) RETURNING id) "
        "INSERT INTO webhooks_webhookdelivery (event_id, endpoint_id, order_id, status, attempts, next_attempt_at, "
        f"created_at) SELECT e.id, d.id, %s, %s, 0, %s, %s FROM e, (VALUES {', '.join(['(%s::bigint)'] * endpoints)}) "
        "AS d(id) RETURNING event_id"
    )


def _earlier_pending(delivery: WebhookDelivery) -> bool:
    """Events of one order reach an endpoint in the order they happened: not before the earlier ones."""
    return WebhookDelivery.objects.filter(
        endpoint_id=delivery.endpoint_id,
        order_id=delivery.order_id,
        status=DeliveryStatus.PENDING,
        event_id__lt=delivery.event_id,
    ).exists()


def _post(delivery: WebhookDelivery) -> WebhookAttempt:
    event, endpoint = delivery.event, delivery.endpoint
    now = timezone.now()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "shop-backoffice-webhooks/1",
        "webhook-id": event.message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(endpoint.secret).sign(event.message_id, now, event.body),
    }
    attempt = WebhookAttempt(delivery=delivery, attempted_at=now)
    started = time.monotonic()
    try:
        response = requests.post(
            endpoint.url,
            data=event.body.encode(),
            headers=headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
        attempt.response_status = response.status_code
        attempt.response_excerpt = response.text[:500]
    except requests.Timeout:
        attempt.error = f"no answer within {settings.WEBHOOK_TIMEOUT_SECONDS} s"
    except requests.RequestException as exc:
        attempt.error = str(exc)[:300]
    attempt.duration_ms = int((time.monotonic() - started) * 1000)
    return attempt


def webhook_deliver(*, delivery_id: int, now: datetime | None = None) -> str:
    """Send one due delivery; returns its status afterwards (or why it was not sent now). Safe to run twice.

    The delivery row stays locked (SKIP LOCKED for others) while it is posted, and the attempt is written in
    the same transaction: a worker killed mid-post leaves the row pending and due, and the next sweep sends it
    again with the same `webhook-id`. Only this row is held, never an order's.
    """
    with transaction.atomic():
        delivery = (
            lock_or_skip(WebhookDelivery.objects.filter(pk=delivery_id), of=("self",))
            .select_related("event", "endpoint")
            .first()
        )
        if delivery is None:
            return "busy"
        if delivery.status != DeliveryStatus.PENDING or delivery.next_attempt_at > (now or timezone.now()):
            return delivery.status
        if delivery.endpoint.status != EndpointStatus.ACTIVE:
            return "endpoint disabled"
        if _earlier_pending(delivery):
            return "waiting"
        attempt = _post(delivery)
        attempt.save()
        delivery.attempts += 1
        delivery.last_attempt_at, delivery.last_response_status = attempt.attempted_at, attempt.response_status
        succeeded = attempt.response_status is not None and 200 <= attempt.response_status < 300
        if succeeded:
            transition_apply(delivery, "succeed", actor=ACTOR, reason=str(attempt.response_status))
            WebhookEndpoint.objects.filter(pk=delivery.endpoint_id, failing_since__isnull=False).update(
                failing_since=None
            )
        else:
            if delivery.attempts > len(RETRY_SCHEDULE):
                transition_apply(delivery, "give_up", actor=ACTOR, reason=attempt.error or str(attempt.response_status))
            else:
                delivery.next_attempt_at = attempt.attempted_at + RETRY_SCHEDULE[delivery.attempts - 1]
            _endpoint_failed(delivery.endpoint_id, attempt.attempted_at)
        delivery.save()
        if delivery.status != DeliveryStatus.PENDING:
            _send_next_of_order(delivery)
    return delivery.status


def _endpoint_failed(endpoint_id: int, at: datetime) -> None:
    """Start the endpoint's failing streak, or disable it once the streak is long enough (staff are told)."""
    WebhookEndpoint.objects.filter(pk=endpoint_id, failing_since__isnull=True).update(failing_since=at)
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
    cutoff = at - timedelta(days=settings.WEBHOOK_DISABLE_AFTER_DAYS)
    if endpoint.status == EndpointStatus.ACTIVE and endpoint.failing_since and endpoint.failing_since <= cutoff:
        days = settings.WEBHOOK_DISABLE_AFTER_DAYS
        transition_apply(endpoint, "disable", actor=ACTOR, reason=f"every attempt failed for {days} days")
        endpoint.save(update_fields=["status"])
        emit("webhook.endpoint_disabled", endpoint=endpoint)
        logger.warning("webhook endpoint %s disabled: failing since %s", endpoint.url, endpoint.failing_since)


def _send_next_of_order(delivery: WebhookDelivery) -> None:
    """The next event of the same order for the same endpoint was waiting for this one."""
    following = (
        WebhookDelivery.objects.filter(
            endpoint_id=delivery.endpoint_id,
            order_id=delivery.order_id,
            status=DeliveryStatus.PENDING,
            event_id__gt=delivery.event_id,
        )
        .order_by("event_id")
        .values_list("pk", flat=True)
        .first()
    )
    if following is not None:
        from .tasks import deliver_webhook

        enqueue_on_commit(deliver_webhook, following)


def webhook_sweep(*, now: datetime | None = None, budget_seconds: float | None = None) -> int:
    """Beat: send what is due (retries, deliveries whose task was lost or whose worker died), oldest event
    first, until nothing is due or the time budget is spent. Workers sweeping side by side skip each other's
    rows."""
    deadline = time.monotonic() + (budget_seconds or settings.WEBHOOK_SWEEP_SECONDS)
    sent = 0
    seen: set[int] = set()
    while time.monotonic() < deadline:
        due = list(
            WebhookDelivery.objects.filter(
                status=DeliveryStatus.PENDING,
                next_attempt_at__lte=now or timezone.now(),
                endpoint__status=EndpointStatus.ACTIVE,
            )
            .exclude(pk__in=seen)
            .order_by("event_id")
            .values_list("pk", flat=True)[:100]
        )
        if not due:
            break
        for pk in due:
            seen.add(pk)
            if webhook_deliver(delivery_id=pk, now=now) in (DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED):
                sent += 1
            if time.monotonic() >= deadline:
                break
    return sent


def webhook_redeliver(*, delivery: WebhookDelivery, user: Actor) -> WebhookDelivery:
    """Staff send an event again (the receiver lost it, or was fixed after the schedule ran out)."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        transition_apply(delivery, "redeliver", actor=user, reason="redeliver", check_permission=True)
        delivery.attempts, delivery.next_attempt_at = 0, timezone.now()
        delivery.save(update_fields=["status", "attempts", "next_attempt_at"])
        from .tasks import deliver_webhook

        enqueue_on_commit(deliver_webhook, delivery.pk)
    return delivery


def webhook_endpoint_enable(*, endpoint: WebhookEndpoint, user: Actor) -> WebhookEndpoint:
    """Staff turn a disabled endpoint back on; its failing streak starts afresh."""
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        transition_apply(endpoint, "enable", actor=user, reason="enabled by staff", check_permission=True)
        endpoint.failing_since = None
        endpoint.save(update_fields=["status", "failing_since"])
    return endpoint


def webhook_endpoint_add(*, url: str, events: list[str] | None = None, description: str = "") -> WebhookEndpoint:
    endpoint = WebhookEndpoint(url=url, events=sorted(set(events or [])), description=description)
    endpoint.full_clean(exclude=["status"])  # the state machine's field is never set by hand
    endpoint.save()
    return endpoint
