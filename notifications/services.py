"""Notifications: queued as rows in the transaction of the change that causes them, sent by a task woken on
commit (one per moment, not one per message), retried by due time (never a Celery countdown), swept up by
beat when a worker died."""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import prefetch_related_objects
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from config.celery_app import enqueue_on_commit, wake_on_commit
from core.db import insert_later, lock_or_skip, row_lock, save_fields, writes_at_end
from core.fsm import transition_apply
from orders.models import Order
from orders.tracking import tracking_page_url

from .channels import SENDERS, ChannelError, Message
from .models import Device, Event, Notification, NotificationStatus
from .push import TokenUnregistered

logger = logging.getLogger(__name__)

STAFF_EVENTS = {
    Event.RESTOCK_ALERT,
    Event.AMOUNT_MISMATCH,
    Event.LATE_PAYMENT,
    Event.SHIPMENT_EXCEPTION,
    Event.SLOW_PROCESSING,
    Event.WEBHOOK_DISABLED,
    Event.SLOW_ORDER,
    Event.DAILY_REPORT,
}
SMS_EVENTS = {
    Event.PAYMENT_CONFIRMED,
    Event.PAYMENT_FAILED,
    Event.ORDER_CANCELLED,
    Event.BACK_ORDERED,
    Event.SHIPPED,
    Event.DELIVERED,
    Event.ORDER_REFUNDED,
    Event.RETURN_REFUNDED,
}
# The contract's push list (a delivery update is pushed when the parcel is out for delivery).
PUSH_EVENTS = {Event.PAYMENT_CONFIRMED, Event.SHIPPED, Event.DELIVERY_UPDATE, Event.DELIVERED, Event.ORDER_REFUNDED}
# The e-mails that carry the tracking link as a QR code (the confirmations and the shipped message).
QR_EVENTS = {Event.ORDER_PLACED, Event.PAYMENT_CONFIRMED, Event.SHIPPED}
ACTOR = "task:notifications"


def notification_send(
    *,
    event: str,
    order: Order | None = None,
    subject: str = "",
    context: dict | None = None,
    due_at: datetime | None = None,
) -> list[Notification]:
    """Queue the messages of one event: customers by e-mail (and SMS for the short ones), staff by e-mail
    to the list configured for the event. Called inside the caller's transaction; idempotent."""
    subject = subject or order.number
    if event in STAFF_EVENTS:
        targets = [("email", address, settings.LANGUAGE_CODE) for address in settings.STAFF_NOTIFY[event]]
    else:
        targets = [("email", order.customer_email, order.language)]
        if event in SMS_EVENTS:
            targets.append(("sms", order.customer_phone, order.language))
        if event in PUSH_EVENTS:
            devices = _devices(client_id=order.client_id, customer_id=order.customer_id)
            targets += [("push", f"{platform}:{token}", order.language) for platform, token in devices]
    rows = [
        Notification(
            subject=subject[:100],
            event=event,
            channel=channel,
            recipient=recipient,
            order=order,
            language=language,
            context=context or {},
            due_at=due_at or timezone.now(),
        )
        for channel, recipient, language in targets
        if recipient
    ]
    # One INSERT … ON CONFLICT DO NOTHING: a replayed callback or a second run adds nothing. Inside a payment's
    # apply (`writes_at_end`) it goes out with the apply's other writes.
    insert_later(rows, ignore_conflicts=True)
    if due_at is None and rows:
        from .tasks import sweep_notifications

        wake_on_commit(sweep_notifications, helper=True)  # what is due now, sent within a second
    return rows


def _devices(*, client_id: int, customer_id: str) -> list[tuple[str, str]]:
    """The customer's registered devices, (platform, token). Hand-written: asked on every payment, where the
    ORM's compilation of this lookup cost more than the statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT platform, token FROM {Device._meta.db_table} WHERE client_id = %s AND customer_id = %s "
            "ORDER BY id",
            [client_id, customer_id],
        )
        return cursor.fetchall()


def render(notification: Notification) -> Message:
    """The message in the recipient's language, from `templates/notifications/` in this app. A customer's
    message carries the order's tracking page link; the confirmations and the shipped e-mail its QR code too."""
    order = notification.order
    tracking_url = tracking_page_url(order) if order and notification.event not in STAFF_EVENTS else ""
    ctx = {
        "n": notification,
        "order": order,
        "data": notification.context,
        "items": list(order.items.all()) if order else [],
        "shipments": list(order.shipments.all()) if order else [],
        "tracking_url": tracking_url,
        "qr_cid": f"qr-{notification.pk}@shop" if tracking_url and notification.event in QR_EVENTS else "",
    }
    with translation.override(notification.language):
        lines = render_to_string(f"notifications/{notification.event}.txt", ctx).strip().splitlines()
        subject, text = lines[0].strip(), "\n".join(lines[1:]).strip()
        follow = _("Follow your order: %(url)s") % {"url": tracking_url} if tracking_url else ""
        if notification.channel != "email":
            short = render_to_string(f"notifications/{notification.event}.sms.txt", ctx).strip()
            return Message(
                key=f"n{notification.pk}",
                recipient=notification.recipient,
                subject=subject,
                text=f"{short} {tracking_url}".strip(),
            )
        html = render_to_string("notifications/email.html", {**ctx, "subject": subject, "text": text})
        text = f"{text}\n\n{follow}".strip()
        attachments, inline = [], []
        if notification.event == Event.PAYMENT_CONFIRMED and order is not None:
            from .documents import order_confirmation_pdf

            pdf = order_confirmation_pdf(order, tracking_url=tracking_url)
            attachments.append((f"order-{order.number}.pdf", pdf, "application/pdf"))
        if ctx["qr_cid"]:
            from .documents import qr_png

            inline.append((ctx["qr_cid"], qr_png(tracking_url), "image/png"))
    return Message(
        key=f"n{notification.pk}",
        recipient=notification.recipient,
        subject=subject,
        text=text,
        html=html,
        attachments=attachments,
        inline=inline,
    )


def _backoff(attempts: int) -> timedelta:
    base = settings.NOTIFY_RETRY_BASE_SECONDS * 2 ** (attempts - 1)
    return timedelta(seconds=base * (1 + random.random() / 4))  # jitter keeps retries from marching together


def _lock(pk: int) -> Notification | None:
    return lock_or_skip(Notification.objects.filter(pk=pk).select_related("order"), of=("self",)).first()


def notification_deliver(*, notification_id: int) -> str:
    """Send one queued, due notification; returns its status afterwards. Safe to run twice."""
    now = timezone.now()
    with transaction.atomic():
        n = _lock(notification_id)
        if n is None:
            return "missing"
        if not _start(n, now):
            return n.status
    return _send([n])[0]


def notifications_deliver_due(batch_size: int, *, now: datetime | None = None) -> int:
    """Send one batch of due messages, oldest first; returns how many rows it claimed. The batch moves to
    `sending` in one short transaction (SKIP LOCKED: sweeps side by side take different rows); a worker that
    dies mid-batch leaves the rest `sending` (never sent), and the sweep queues them again after
    NOTIFY_SENDING_TIMEOUT_SECONDS."""
    now = now or timezone.now()
    with transaction.atomic(), writes_at_end(updates=False):
        rows = list(
            lock_or_skip(
                Notification.objects.filter(status=NotificationStatus.QUEUED, due_at__lte=now)
                .select_related("order")
                .order_by("due_at"),
                of=("self",),
            )[:batch_size]
        )
        started = [n for n in rows if _start(n, now)]
    prefetch_related_objects([n.order for n in started if n.order], "items", "shipments")
    _send(started)
    return len(rows)


def _start(n: Notification, now) -> bool:
    """On a locked row: move a due message to `sending` (or cancel a review invitation of a refunded order)."""
    if n.status != NotificationStatus.QUEUED or n.due_at > now:
        return False
    if (
        n.event == Event.REVIEW_INVITATION
        and n.order
        and (n.order.payment_status == "refunded" or n.order.payments.filter(status="refunded").exists())
    ):
        transition_apply(n, "cancel", actor=ACTOR, reason="order refunded")
        n.save(update_fields=["status"])
        return False
    transition_apply(n, "start", actor=ACTOR)
    n.attempts += 1
    n.sending_since = now
    save_fields(n, ["status", "attempts", "sending_since"])
    return True


def _send(started: list[Notification]) -> list[str]:
    """Hand `sending` messages to their channels, recording each outcome as soon as it is known: a worker killed
    mid-batch then re-sends at most the message it was sending. Returns their statuses afterwards."""
    statuses = []
    for n in started:
        try:
            provider_id = SENDERS[n.channel](render(n))
        except TokenUnregistered as exc:
            with transaction.atomic():
                n = Notification.objects.select_for_update().get(pk=n.pk)
                platform, token = n.recipient.split(":", 1)
                Device.objects.filter(platform=platform, token=token).delete()
                n.last_error = str(exc)[:500]
                transition_apply(n, "cancel", actor=ACTOR, reason=f"device unregistered ({exc}); device removed")
                n.save(update_fields=["status", "last_error"])
        except ChannelError as exc:
            with transaction.atomic():
                n = Notification.objects.select_for_update().get(pk=n.pk)
                n.last_error = str(exc)[:500]
                if n.attempts >= settings.NOTIFY_MAX_ATTEMPTS:
                    transition_apply(n, "fail", actor=ACTOR, reason=n.last_error)
                else:
                    transition_apply(n, "retry", actor=ACTOR, reason=n.last_error)
                    n.due_at = timezone.now() + _backoff(n.attempts)
                n.save(update_fields=["status", "last_error", "due_at"])
        else:
            with transaction.atomic():  # every message passes here: its lock and write are built once (core.db)
                n = row_lock(Notification, n.pk)
                if n.status == NotificationStatus.SENDING:  # (not if the stalled-send sweep queued it again)
                    transition_apply(n, "succeed", actor=ACTOR)
                    n.sent_at, n.provider_message_id, n.last_error = timezone.now(), provider_id[:200], ""
                    save_fields(n, ["status", "sent_at", "provider_message_id", "last_error"])
        statuses.append(n.status)
    return statuses


def notification_resend(*, notification: Notification, user) -> Notification:
    """Staff send a message again (a failed one, or one the customer lost)."""
    with transaction.atomic():
        n = Notification.objects.select_for_update().get(pk=notification.pk)
        transition_apply(n, "resend", actor=user, reason="resend", check_permission=True)
        n.attempts, n.due_at, n.last_error = 0, timezone.now(), ""
        n.save(update_fields=["status", "attempts", "due_at", "last_error"])
        from .tasks import deliver_notification

        enqueue_on_commit(deliver_notification, n.pk)
    return n


def notification_sweep(*, now: datetime | None = None) -> int:
    """Beat, in one go (the task runs the sending part as a time-boxed sweep): re-queue rows whose worker died
    mid-send, raise staff alerts, and send what is due; returns the messages sent."""
    notification_housekeeping(now=now)
    return notifications_deliver_due(500, now=now)


def notification_housekeeping(*, now: datetime | None = None) -> None:
    """Re-queue rows whose worker died mid-send; queue the staff alerts that are due."""
    from inventory.models import RestockAlert

    now = now or timezone.now()
    for pk in Notification.objects.filter(
        status=NotificationStatus.SENDING,
        sending_since__lt=now - timedelta(seconds=settings.NOTIFY_SENDING_TIMEOUT_SECONDS),
    ).values_list("pk", flat=True):
        with transaction.atomic():
            n = _lock(pk)
            if n is not None and n.status == NotificationStatus.SENDING:
                transition_apply(n, "retry", actor="task:notification_sweep", reason="worker died while sending")
                n.due_at = now
                n.save(update_fields=["status", "due_at"])
    with transaction.atomic():
        for alert in RestockAlert.objects.filter(acknowledged=False).select_related("stock_item__product")[:200]:
            notification_send(
                event=Event.RESTOCK_ALERT,
                subject=f"restock:{alert.pk}",
                due_at=now,
                context={
                    "sku": alert.stock_item.product.sku,
                    "available": alert.available,
                    "reorder_point": alert.reorder_point,
                },
            )
        slow = Order.objects.filter(
            status="processing", updated_at__lt=now - timedelta(hours=settings.SLOW_PROCESSING_HOURS)
        )[:200]
        for order in slow:
            notification_send(event=Event.SLOW_PROCESSING, order=order, due_at=now)


def daily_report_send(*, now: datetime | None = None) -> Notification | None:
    """The last day's order health as an e-mail to staff: the page's numbers and its recommendations, once a day
    (the subject is the day, so a second run sends nothing)."""
    from core.health import advice, panels

    now = now or timezone.now()
    day = f"{timezone.localdate(now):%Y-%m-%d}"
    if Notification.objects.filter(event=Event.DAILY_REPORT, subject=f"report:{day}").exists():
        return None
    since = now - timedelta(days=1)
    sections = []
    for panel in panels():
        data = panel.data(since)
        if panel.kind in ("line", "bar"):
            rows = [[outcome, n] for outcome, n in sorted(data["total"].items())]
        elif panel.kind == "table":
            rows = [[row[key] for key, _heading in panel.columns] for row in data]
        else:
            rows = [[row["label"], row["value"]] for row in data]
        sections.append({"title": str(panel.title), "rows": [[str(cell) for cell in row] for row in rows]})
    context = {"day": day, "sections": sections, "advice": advice(since)}
    with transaction.atomic():
        rows = notification_send(event=Event.DAILY_REPORT, subject=f"report:{context['day']}", context=context)
    return rows[0] if rows else None
