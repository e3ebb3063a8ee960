"""Payment use cases. Every way money arrives — a gateway callback (through the inbox), a gateway query,
finance's "mark paid", a replay from the admin — ends in `_apply_locked`, under the order's lock, then the
payment's, which re-checks both and moves them through their state machines in one transaction.

Gateways are called outside any lock; raw inbound requests are stored before anything is decided.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.cache import cache
from django.db import OperationalError, transaction
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.api import untrusted_text_problem
from config.celery_app import wake_on_commit
from core.claims import claimed
from core.counters import REDIS_DOWN
from core.db import insert_rows, lock_or_skip, save_fields, writes_at_end
from core.errors import ApplicationError, InvalidTransition
from core.events import emit
from core.fsm import Actor, actor_parts, transition_apply
from core.logs import about_order
from orders.models import Order, OrderStatus, Return, ReturnStatus
from orders.returns import return_mark_refunded
from orders.services import order_confirm_payment, order_lock, order_payment_failed, order_refund

from .gateways import GatewayError, Notification, PaymentRequest, SignatureInvalid, get_gateway
from .gateways.base import GatewayRefused
from .models import Gateway, Payment, PaymentEvent, PaymentStatus, Refund, RefundStatus
from .selectors import inbox_apply_locks, payment_for_callback

logger = logging.getLogger(__name__)
Outcome = PaymentEvent.Outcome
KEPT_HEADERS_EXCLUDED = {"cookie", "authorization"}


class UnsupportedGateway(ApplicationError):
    code = "unsupported_gateway"
    default_detail = _("This payment gateway is not supported.")


class PaymentValidationError(ApplicationError):
    code = "validation_error"


class GatewayUnavailable(ApplicationError):
    code = "gateway_error"
    default_detail = _("The payment gateway could not be reached.")


@dataclass(frozen=True)
class CallbackResult:
    accepted: bool
    message: str
    event: PaymentEvent | None  # None: not even the gateway's format, so not kept
    queued: bool = False  # in the inbox, to be applied


# --- starting a payment -------------------------------------------------------------------------------------
def payment_start(*, order_number: str, gateway: str, actor: Actor) -> Payment:
    """Open a payment attempt for a pending order and get the storefront's next step from the gateway."""
    adapter = get_gateway(gateway)
    if adapter is None:
        raise UnsupportedGateway(gateways=sorted(g for g in Gateway.values if g != Gateway.MANUAL))
    order = Order.objects.get(number=order_number)
    if order.status != OrderStatus.PENDING:
        raise InvalidTransition(_("Only a pending order can be paid."), status=order.status)
    payment = Payment(order=order, gateway=gateway, amount=order.total, currency=order.currency)
    try:
        action = adapter.create(
            PaymentRequest(payment.reference, payment.amount, payment.currency, f"Order {order.number}")
        )
    except GatewayError as exc:
        raise GatewayUnavailable(str(exc)) from exc
    label, user = actor_parts(actor)
    with transaction.atomic():
        order = order_lock(number=order_number)
        if order.status != OrderStatus.PENDING:
            raise InvalidTransition(_("Only a pending order can be paid."), status=order.status)
        payment.action = action
        payment.save(force_insert=True)
        PaymentEvent.objects.create(
            gateway=gateway,
            direction=PaymentEvent.Direction.OUTBOUND,
            kind="create",
            payment=payment,
            reference=payment.reference,
            amount=payment.amount,
            currency=payment.currency,
            body=json.dumps(action),
            outcome=Outcome.APPLIED,
            actor=label,
            user=user,
        )
    return payment


# --- applying what a gateway or finance says ----------------------------------------------------------------
def _apply_success(order: Order, payment: Payment, n: Notification, actor: Actor) -> tuple[str, str]:
    if payment.status in (PaymentStatus.PAID, PaymentStatus.REFUNDED):
        return Outcome.DUPLICATE, "already paid"
    reason = f"{payment.get_gateway_display()}: {n.event_type}"
    transition_apply(payment, "mark_paid", actor=actor, reason=reason)
    if n.gateway_txn_id and not payment.gateway_txn_id:
        payment.gateway_txn_id = n.gateway_txn_id
    payment.paid_at = timezone.now()
    # Saved before the order moves: the order's events render it, payments included, from the database.
    save_fields(payment, ["status", "gateway_txn_id", "paid_at", "updated_at"])
    result = order_confirm_payment(order=order, actor=actor, reason=reason)
    if result in ("confirmed_late", "pending_restock", "already_paid"):
        payment.attention = {
            "already_paid": str(_("The order was already paid: refund this payment.")),
            "pending_restock": str(_("Paid after the order closed and the stock is gone: awaiting restock.")),
            "confirmed_late": str(_("Paid after the order closed; stock was reserved again.")),
        }[result]
        save_fields(payment, ["attention", "updated_at"])
        emit("payment.late", order=order, payment=payment)
    return Outcome.APPLIED, result


def _apply_failure(order: Order, payment: Payment, n: Notification, actor: Actor) -> tuple[str, str]:
    if payment.status != PaymentStatus.PENDING:
        return Outcome.DUPLICATE, f"payment already {payment.status}"
    transition_apply(payment, "fail", actor=actor, reason=f"{payment.gateway} {n.event_type}")
    payment.save(update_fields=["status", "updated_at"])
    other_open = order.payments.filter(status=PaymentStatus.PENDING).exclude(pk=payment.pk).exists()
    cancelled = order_payment_failed(
        order=order,
        actor=actor,
        definitive=n.definitive,
        other_attempt_open=other_open,
        reason=f"{payment.gateway} {n.event_type}",
    )
    return Outcome.APPLIED, "order cancelled" if cancelled else "attempt failed"


def _apply_refund(
    order: Order, payment: Payment, n: Notification, actor: Actor, refund: Refund | None = None
) -> tuple[str, str]:
    """Record a refund the gateway made: ours (`refund`, written before we asked), or one it tells us about.

    A gateway's notification of our own refund may come before our call returns with the gateway's id: a
    pending refund of the same amount on this payment is taken to be it, so it is never counted twice.
    """
    label, _user = actor_parts(actor)
    amount = n.refund_amount
    known = Refund.objects.filter(Q(gateway_refund_id=n.refund_id) | Q(number=n.refund_id)).first()
    if known is not None and known.status == RefundStatus.SUCCEEDED:
        return Outcome.DUPLICATE, "refund already recorded"
    refund = refund or known
    if refund is None:
        refund = payment.refunds.filter(status=RefundStatus.PENDING, amount=amount).order_by("created_at").first()
    if (
        payment.status != PaymentStatus.PAID
        or not amount
        or amount <= 0
        or amount > payment.amount - payment.refunded_amount
    ):
        payment.attention = str(_("A refund of %(amount)s does not fit this payment.") % {"amount": amount})
        payment.save(update_fields=["attention", "updated_at"])
        return Outcome.FLAGGED, "refund does not fit the payment"
    if refund is None:  # made at the gateway (its dashboard): recorded here as it stands
        refund = Refund.objects.create(payment=payment, amount=amount, reason=n.event_type[:255], actor=label)
    refund.gateway_refund_id = n.refund_id
    transition_apply(refund, "succeed", actor=actor, reason=n.event_type)
    refund.save(update_fields=["gateway_refund_id", "status", "updated_at"])
    payment.refunded_amount += amount
    fields = ["refunded_amount", "updated_at"]
    reason = refund.reason
    if payment.refunded_amount == payment.amount:
        transition_apply(payment, "refund", actor=actor, reason=reason)
        fields.append("status")
        if order.status in (
            OrderStatus.CONFIRMED,
            OrderStatus.PROCESSING,
            OrderStatus.PENDING_RESTOCK,
            OrderStatus.DELIVERED,  # a return (or returns) refunded everything
            OrderStatus.COMPLETED,
        ):
            order_refund(order=order, actor=actor, reason=reason or str(_("Refunded in full")))
        else:
            payment.attention = str(_("Refunded in full after the order was %(status)s.") % {"status": order.status})
            fields.append("attention")
    payment.save(update_fields=fields)
    return Outcome.APPLIED, "refunded"


VERIFIED_FIELDS = ["signature_valid", "reference", "event_type", "gateway_txn_id", "amount", "currency"]


def _apply(
    payment: Payment, n: Notification, event: PaymentEvent, actor: Actor, refund: Refund | None = None
) -> CallbackResult:
    """Lock order then payment, check the notification against the payment, apply it, record the outcome."""
    with transaction.atomic(), writes_at_end():
        order = order_lock(number=payment.order.number)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        return _apply_locked(order, payment, n, event, actor, refund)


def _mismatch(payment: Payment, n: Notification) -> bool:
    return n.currency != payment.currency or (
        n.outcome in ("success", "failure") and n.amount is not None and n.amount != payment.amount
    )


def _apply_locked(
    order: Order, payment: Payment, n: Notification, event: PaymentEvent, actor: Actor, refund: Refund | None = None
) -> CallbackResult:
    event.payment = payment
    if _mismatch(payment, n):
        payment.attention = str(
            _("Amount mismatch: the gateway reported %(got)s, the payment is %(expected)s.")
            % {"got": f"{n.amount} {n.currency}", "expected": f"{payment.amount} {payment.currency}"}
        )
        payment.save(update_fields=["attention", "updated_at"])
        emit("payment.amount_mismatch", order=order, payment=payment, detail=payment.attention)
        outcome, message, accepted = Outcome.FLAGGED, "amount or currency mismatch", False
    elif n.outcome == "success":
        (outcome, message), accepted = _apply_success(order, payment, n, actor), True
    elif n.outcome == "failure":
        (outcome, message), accepted = _apply_failure(order, payment, n, actor), True
    elif n.outcome == "refund":
        (outcome, message) = _apply_refund(order, payment, n, actor, refund=refund)
        accepted = outcome != Outcome.FLAGGED
    elif n.outcome == "approved":  # PayPal: a resent approval of a payment captured already
        outcome, message, accepted = Outcome.DUPLICATE, f"payment already {payment.status}", True
    else:
        outcome, message, accepted = Outcome.APPLIED, f"nothing to do for {n.event_type}", True
    event.outcome, event.error = outcome, "" if accepted else message
    save_fields(event, ["payment", "outcome", "error", *VERIFIED_FIELDS])
    logger.info("payment %s: %s (%s)", payment.reference, message, n.event_type)
    return CallbackResult(accepted=accepted, message=message, event=event)


def payment_take_callback(*, gateway: str, headers: dict[str, str], body: bytes) -> CallbackResult:
    """A gateway's notification as the callback endpoint takes it: checked and stored in the inbox, answered,
    and applied by a worker (`PAYMENTS_CALLBACKS_APPLIED = "worker"`), so a burst of placements holding
    the database never makes a gateway wait; or applied before the answer (`"inline"`)."""
    if settings.PAYMENTS_CALLBACKS_APPLIED == "inline":
        return payment_apply_callback(gateway=gateway, headers=headers, body=body)
    result = payment_receive_callback(gateway=gateway, headers=headers, body=body)
    if result.queued:
        from .tasks import apply_payment_inbox

        wake_on_commit(apply_payment_inbox)
    return result


def payment_apply_callback(
    *,
    gateway: str,
    headers: dict[str, str],
    body: bytes,
    actor: Actor | None = None,
    now: datetime | None = None,
    replay_of: PaymentEvent | None = None,
) -> CallbackResult:
    """Receive a notification and apply it at once (finance's replay, inline callbacks): the answer is the
    outcome. It goes through the inbox like any other, so it also applies, first, whatever of its payment's
    callbacks are still queued."""
    result = payment_receive_callback(
        gateway=gateway, headers=headers, body=body, actor=actor, now=now, replay_of=replay_of
    )
    if not result.queued:
        return result
    payment_inbox_apply(payment_id=result.event.payment_id, skip_locked=False)
    event = PaymentEvent.objects.get(pk=result.event.pk)
    accepted = event.outcome in (Outcome.APPLIED, Outcome.DUPLICATE)
    return CallbackResult(accepted=accepted, message=event.error or event.outcome, event=event)


def payment_receive_callback(
    *,
    gateway: str,
    headers: dict[str, str],
    body: bytes,
    actor: Actor | None = None,
    now: datetime | None = None,
    replay_of: PaymentEvent | None = None,
) -> CallbackResult:
    """Store a gateway's notification raw, verify it, match it to its payment and put it in the inbox
    (outcome `received`, signature valid, payment set), where `payment_inbox_apply` takes it.

    Everything that decides the answer happens here: signature and freshness, a transmission id reused with
    another body, the reference, PayPal's API agreeing with a capture or refund it names, amount and currency
    (a mismatch is flagged for finance at once and refused). What is left for the inbox only moves state
    machines, which refuse what has already happened: replays and out-of-order notifications are harmless.
    """
    adapter = get_gateway(gateway)
    if adapter is None:
        raise UnsupportedGateway()
    label, user = actor_parts(actor or f"gateway:{gateway}")
    if problem := _wire_problem(adapter, body):
        logger.info("%s callback not kept: %s", gateway, problem)
        return CallbackResult(accepted=False, message=problem, event=None)
    headers = {k: v for k, v in headers.items() if untrusted_text_problem(f"{k}{v}") is None}
    kept = {k: v for k, v in headers.items() if k.lower() not in KEPT_HEADERS_EXCLUDED}
    transmission = "" if adapter.signs_whole_body else adapter.transmission_id(headers)[:128]
    event = PaymentEvent(
        gateway=gateway,
        kind="replay" if replay_of else "callback",
        headers=kept,
        body=body.decode("utf-8", errors="replace"),
        transmission_id=transmission,
        body_sha256=hashlib.sha256(body).hexdigest(),
        actor=label,
        user=user,
        replay_of=replay_of,
    )
    if transmission:  # stored before the check, so that two deliveries racing with one id see each other
        event.save()

    def reject(message: str, **fields) -> CallbackResult:
        for name, value in fields.items():
            setattr(event, name, value)
        event.outcome, event.error = Outcome.REJECTED, message[:500]
        _store(event)
        return CallbackResult(accepted=False, message=message, event=event)

    try:
        n = adapter.parse_callback(headers=headers, body=body, now=now or timezone.now())
    except SignatureInvalid as exc:
        return reject(str(exc), signature_valid=False)
    except GatewayError as exc:
        return reject(str(exc), signature_valid=True)
    except RecursionError:
        return reject("nested too deeply")
    except Exception:  # a bug: the request is kept for finance's replay; the gateway, answered 500, resends
        reject("could not be read")
        raise
    if problem := _notification_problem(n):
        return reject(f"malformed notification: {problem}", signature_valid=True)
    _note_verified(event, n)
    if transmission and _transmission_reused(event):
        return reject("transmission id seen before with another body", signature_valid=False)
    payment = payment_for_callback(gateway=gateway, reference=n.reference)
    if payment is None:
        return reject("unknown reference")
    if n.outcome != "approved" and not adapter.signs_whole_body:  # an approval is captured by the inbox
        try:
            confirmed = adapter.confirm(n)
        except GatewayError as exc:  # unreachable: the gateway resends; unknown to it: forged
            forged = isinstance(exc, GatewayRefused) and not exc.transient
            return reject(f"not confirmed by the gateway: {exc}", signature_valid=not forged)
        if _claims(confirmed) != _claims(n):
            return reject("the body disagrees with the gateway's API", signature_valid=False)
    if _mismatch(payment, n):
        _store(event)
        return _apply(payment, n, event, actor or f"gateway:{gateway}")  # flagged for finance, refused
    event.payment = payment
    _store(event)
    return CallbackResult(accepted=True, message="queued", event=event, queued=True)


def _store(event: PaymentEvent) -> None:
    """A callback's event is written once, when its answer is decided (PayPal's, carrying a transmission id,
    was stored first and is updated)."""
    if event.pk is None:
        insert_rows([event])  # the callback path's one write
    else:
        event.save()


def _note_verified(event: PaymentEvent, n: Notification) -> None:
    """What a verified notification says, on its event (saved with the event's next write)."""
    event.signature_valid = True
    event.reference, event.event_type, event.gateway_txn_id = n.reference[:64], n.event_type[:60], n.gateway_txn_id
    event.amount = n.refund_amount if n.outcome == "refund" else n.amount
    event.currency = n.currency[:3]


# The inbox: callbacks verified and matched to their payment, waiting to be applied.
INBOX = Q(direction=PaymentEvent.Direction.INBOUND, outcome=Outcome.RECEIVED, signature_valid=True)


def payment_inbox_apply(*, payment_id: int, skip_locked: bool = True, queued: list[PaymentEvent] | None = None) -> int:
    """Apply a payment's queued callbacks in the order they arrived, each exactly once: they are re-read
    under the order's lock (then the payment's, the order every money path takes) and leave the inbox in
    the transaction that applies them. With `skip_locked`, an order another worker (or a placement, the
    expiry sweep, finance) holds is left for the next run instead of waited for. Returns how many left the
    inbox (applied, or set aside as rejected or error).

    Each stored body is verified again as at its receipt (as a replay is); a PayPal approval is captured
    here, outside any lock (PayPal captures once per payment, however often asked), and only PayPal's answer
    is applied. A capture that fails leaves the payment pending for the stale-payment query, which captures
    an approved order itself. `queued`: the payment's callbacks as a batch read them with other payments'.
    """
    if queued is None:
        queued = list(_inbox(payment_ids=[payment_id]))
    if not queued:
        return 0
    payment = queued[0].payment  # as it stood before the lock: read again under it
    adapter = get_gateway(payment.gateway)
    notes: dict[int, Notification] = {}
    settled = 0
    for event in queued:
        try:
            received = (event.replay_of if event.replay_of_id else event).received_at  # as when it first came
            n = adapter.parse_callback(headers=event.headers, body=event.body.encode(), now=received)
            if n.outcome == "approved" and payment.status == PaymentStatus.PENDING:
                n = adapter.capture(n)
                if n.reference != payment.reference:
                    settled += _settle(event, Outcome.REJECTED, "the approved order is another payment's", False)
                    continue
        except GatewayError as exc:
            settled += _settle(event, Outcome.ERROR, f"{type(exc).__name__}: {exc}")
            continue
        notes[event.pk] = n
    if not notes:
        return settled
    with transaction.atomic(), writes_at_end():
        # Which of them are still in the inbox, now that no other run can take them (the rows were read above).
        locked = inbox_apply_locks(
            order_id=payment.order_id, payment_id=payment_id, event_ids=list(notes), skip_locked=skip_locked
        )
        if locked is None:
            return settled  # busy: the next run takes them
        order, payment, still = locked
        about_order(order.number)
        events = [event for event in queued if event.pk in still]
        for event in events:
            n = notes[event.pk]
            event.gateway_txn_id = n.gateway_txn_id  # a capture's id, for an approval
            actor = event.user if event.user_id else event.actor or f"gateway:{payment.gateway}"
            _apply_locked(order, payment, n, event, actor)
    return settled + len(events)


def _inbox(*, payment_ids: list[int]) -> QuerySet[PaymentEvent]:
    return PaymentEvent.objects.filter(INBOX, payment_id__in=payment_ids).select_related("payment").order_by("id")


def _settle(event: PaymentEvent, outcome: str, message: str, signature_valid: bool = True) -> int:
    """Take an event out of the inbox without applying it; 0 if another run had taken it already."""
    logger.warning("payment event %s: %s", event.pk, message)
    return PaymentEvent.objects.filter(INBOX, pk=event.pk).update(
        outcome=outcome, error=message[:500], signature_valid=signature_valid
    )


def payments_inbox_batch(batch_size: int) -> int:
    """Apply the queued callbacks of up to `batch_size` payments, oldest first, that no other run has claimed;
    returns how many payments were looked at, or 0 when none of their callbacks could be taken (all held or
    claimed by other runs for now)."""
    payment_ids = (
        PaymentEvent.objects.filter(INBOX, payment__isnull=False)
        .order_by("id")
        # Enough for a batch for every run side by side, payments with resends among them: a run that found too
        # few unclaimed ones would end as if the inbox were empty.
        .values_list("payment_id", flat=True)[: batch_size * 4 * settings.SWEEP_WORKERS]
    )
    # Claimed first: runs side by side read the same oldest payments, and each would parse and lock every one.
    with claimed("payment-inbox", list(dict.fromkeys(payment_ids)), batch_size) as mine:
        queued = defaultdict(list)  # read for the whole batch at once; each payment re-checks them under its lock
        for event in _inbox(payment_ids=mine):
            queued[event.payment_id].append(event)
        taken = 0
        for payment_id in mine:
            try:
                taken += payment_inbox_apply(payment_id=payment_id, queued=queued[payment_id])
            except OperationalError:
                raise  # the database went away: the next run tries again
            except Exception as exc:  # one payment's callbacks must not hold up everyone else's behind them
                logger.exception("payment %s: its queued callbacks could not be applied", payment_id)
                message = f"{type(exc).__name__}: {exc}"[:500]
                taken += PaymentEvent.objects.filter(INBOX, payment_id=payment_id).update(
                    outcome=Outcome.ERROR, error=message
                )
    return len(mine) if taken else 0  # all locked or claimed by others: stop rather than spin


def _wire_problem(adapter, body: bytes) -> str | None:
    """Why a request is not worth keeping: not text, or not the gateway's format at all."""
    if b"\x00" in body:
        return "NUL byte in the body"
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "the body is not UTF-8"
    if not adapter.looks_like(body):
        return f"not a {adapter.name} notification"
    return None


MAX_AMOUNT = Decimal("9999999999.99")  # what the amount columns hold


def _notification_problem(n: Notification) -> str | None:
    """A verified notification still carries text and numbers from outside: they must fit our columns."""
    for name in ("reference", "event_type", "gateway_txn_id", "currency", "refund_id"):
        value = getattr(n, name)
        if not isinstance(value, str) or untrusted_text_problem(value):
            return f"{name} is not text"
    if len(n.gateway_txn_id) > 128 or len(n.refund_id) > 128:
        return "an id is too long"
    for name in ("amount", "refund_amount"):
        value = getattr(n, name)
        if value is not None and not (value.is_finite() and 0 <= value <= MAX_AMOUNT and value == round(value, 2)):
            return f"{name} is not an amount"
    return None


def _claims(n: Notification) -> tuple:
    """What a notification asserts, as compared with what the gateway's API says."""
    return (n.reference, n.outcome, n.gateway_txn_id, n.amount, n.currency, n.refund_id, n.refund_amount)


def _transmission_reused(event: PaymentEvent) -> bool:
    """A gateway delivers each transmission with one body: the same id with another authentic-looking body
    is a genuine signature carried onto a rewritten body."""
    return (
        PaymentEvent.objects.filter(gateway=event.gateway, transmission_id=event.transmission_id)
        .exclude(pk=event.pk)
        .exclude(body_sha256=event.body_sha256)
        .exclude(signature_valid=False)
        .exists()
    )


def payment_replay_event(*, event: PaymentEvent, user: AbstractBaseUser) -> CallbackResult:
    """Re-apply a stored callback exactly as a gateway resend would be (freshness judged at first receipt)."""
    if event.direction != PaymentEvent.Direction.INBOUND or event.kind not in ("callback", "replay"):
        raise PaymentValidationError(_("Only stored gateway callbacks can be replayed."))
    original = event.replay_of or event
    return payment_apply_callback(
        gateway=event.gateway,
        headers=event.headers,
        body=event.body.encode("utf-8"),
        actor=user,
        now=original.received_at,
        replay_of=original,
    )


def payment_query_stale(*, now: datetime | None = None, limit: int = 100) -> int:
    """Ask the gateways about payments pending too long; returns how many answers were applied."""
    return payments_query_batch(limit, round_id=uuid.uuid4(), now=now)[1]


STALE_ROUND_KEY = "payments:stale-query-round"
STALE_ROUND_LEASE = 600  # seconds a round outlives its last claim: its runs died, and the next tick starts anew


def stale_query_round() -> uuid.UUID:
    """The stale-payment round under way, or a new one. A beat tick that comes while a round still works through
    a backlog joins it: as a round of its own it asked about the payments the other had claimed and not yet
    answered, and the other about its own (4,601 of 24,601 queries were asked twice at 20,000 stale payments,
    tests.bench.sweeps). The round ends when a batch comes back short (payments_query_batch). Without the
    cache, a tick is a round of its own, as before."""
    try:
        cache.add(STALE_ROUND_KEY, str(uuid.uuid4()), timeout=STALE_ROUND_LEASE)
        return uuid.UUID(cache.get(STALE_ROUND_KEY))
    except (*REDIS_DOWN, TypeError):  # TypeError: the key expired between the two calls
        return uuid.uuid4()


def _stale_round_kept(round_id: uuid.UUID, *, more: bool) -> None:
    """The round under way lives on while its batches come back full, and ends with the first short one."""
    try:
        if cache.get(STALE_ROUND_KEY) == str(round_id):
            if more:
                cache.touch(STALE_ROUND_KEY, STALE_ROUND_LEASE)
            else:  # nothing more is due in this round: the next tick starts another
                cache.delete(STALE_ROUND_KEY)
    except REDIS_DOWN as exc:
        logger.warning("stale-payment round %s not kept in the cache: %s", round_id, exc)


def payments_query_batch(batch_size: int, *, round_id: uuid.UUID, now: datetime | None = None) -> tuple[int, int]:
    """Ask the gateways about one batch of payments pending too long; apply answers through the same path as a
    callback. A payment is asked once per sweep round (`round_id`, shared by the round's helpers), whichever
    worker claims it: SKIP LOCKED, and the claim written before the network call. Returns (payments asked,
    answers applied)."""
    now = now or timezone.now()
    actor = "task:query_stale_payments"
    cutoff = now - timedelta(minutes=settings.PAYMENTS_QUERY_AFTER_MINUTES)
    with transaction.atomic():
        stale = list(
            lock_or_skip(
                Payment.objects.filter(status=PaymentStatus.PENDING, created_at__lte=cutoff)
                .exclude(query_round=round_id)  # asked in this round already
                .exclude(gateway=Gateway.MANUAL)
                .select_related("order")
                .order_by("created_at"),
                of=("self",),
            )[:batch_size]
        )
        Payment.objects.filter(pk__in=[p.pk for p in stale]).update(query_round=round_id)
    _stale_round_kept(round_id, more=len(stale) >= batch_size)
    applied = 0
    for payment in stale:
        adapter = get_gateway(payment.gateway)
        try:
            n = adapter.query(reference=payment.reference, action=payment.action)
        except GatewayError as exc:
            logger.warning("query of %s failed: %s", payment.reference, exc)
            continue
        event = PaymentEvent.objects.create(
            gateway=payment.gateway,
            direction=PaymentEvent.Direction.OUTBOUND,
            kind="query",
            payment=payment,
            reference=payment.reference,
            actor=actor,
            signature_valid=None,
            body=json.dumps({"outcome": n.outcome, "txn": n.gateway_txn_id, "amount": str(n.amount)} if n else {}),
            outcome=Outcome.APPLIED if n is None else Outcome.RECEIVED,
        )
        if n is not None:
            applied += _apply(payment, n, event, actor).accepted
    return len(stale), applied


# --- finance ------------------------------------------------------------------------------------------------
def payment_can_mark_paid(*, order: Order) -> bool:
    """Unpaid and pending, or closed or cancelled (money that arrives late is still taken)."""
    payable = order.status in (OrderStatus.PENDING, OrderStatus.CLOSED, OrderStatus.CANCELLED)
    return payable and order.payment_status != PaymentStatus.PAID


def payment_mark_paid_manually(
    *, order_number: str, bank_reference: str, amount: Decimal, user: AbstractBaseUser, reason: str = "", note: str = ""
) -> Payment:
    """Finance reconciled a bank transfer by hand: the same path as a gateway success, with the user as actor,
    in one transaction (a refusal leaves nothing behind)."""
    bank_reference = bank_reference.strip()
    if not bank_reference:
        raise PaymentValidationError(_("A bank or gateway reference is required."))
    with transaction.atomic():
        order = order_lock(number=order_number)
        if not payment_can_mark_paid(order=order):
            raise InvalidTransition(_("This order cannot be marked paid."), status=order.status)
        if amount != order.total and not reason.strip():
            raise PaymentValidationError(
                _("The amount differs from the order total (%(total)s): give the reason.") % {"total": order.total}
            )
        if Payment.objects.filter(gateway=Gateway.MANUAL, gateway_txn_id=bank_reference).exists():
            raise PaymentValidationError(_("This bank reference has already been used."))
        payment = Payment.objects.create(
            order=order, gateway=Gateway.MANUAL, amount=amount, currency=order.currency, gateway_txn_id=bank_reference
        )
        event = PaymentEvent.objects.create(
            gateway=Gateway.MANUAL,
            kind="manual",
            payment=payment,
            reference=payment.reference,
            gateway_txn_id=bank_reference,
            amount=amount,
            currency=order.currency,
            signature_valid=None,
            body=json.dumps(
                {"bank_reference": bank_reference, "amount": str(amount), "reason": reason, "note": note},
                ensure_ascii=False,
            ),
            actor=user.get_username(),
            user=user,
        )
        # The manual payment's amount is what finance saw arrive: the payment is made for that amount, and
        # a difference from the total is noted for finance, not refused.
        n = Notification(
            reference=payment.reference,
            outcome="success",
            event_type=str(_("bank transfer %(ref)s") % {"ref": bank_reference})[:60],
            gateway_txn_id=bank_reference,
            amount=amount,
            currency=order.currency,
        )
        result = _apply(payment, n, event, user)
        if not result.accepted:
            raise PaymentValidationError(result.message)
        if amount != order.total:
            payment.attention = str(
                _("Paid %(amount)s against a total of %(total)s: %(reason)s")
                % {"amount": amount, "total": order.total, "reason": reason}
            )
            Payment.objects.filter(pk=payment.pk).update(attention=payment.attention)
    payment.refresh_from_db()
    return payment


def payment_refund(
    *, payment: Payment, amount: Decimal, user: AbstractBaseUser, reason: str = "", number: str = ""
) -> Refund:
    """Refund all or part of a paid payment through its gateway, exactly once per `number`.

    The refund row is written under the order and payment locks before the gateway is called, and its
    number is the gateway's idempotency key (out_refund_no, PayPal-Request-Id, …): a second submit of the
    same form finds the row and sends nothing, and amounts already being refunded count as spent. Only a
    refund whose gateway could not be reached is sent again under its number (finance's "Retry").
    """
    label, _user = actor_parts(user)
    with transaction.atomic():
        order_lock(number=payment.order.number)
        payment = Payment.objects.select_for_update().select_related("order").get(pk=payment.pk)
        refund = Refund.objects.filter(number=number).first() if number else None
        if refund is not None:
            if refund.payment_id != payment.pk:
                raise PaymentValidationError(_("This refund belongs to another payment."))
            if not (refund.status == RefundStatus.PENDING and refund.error):
                return refund  # in flight or settled: a second submit sends nothing
            # The gateway could not be reached last time: asking again under the same number is safe.
            Refund.objects.filter(pk=refund.pk).update(error="")
            amount = refund.amount
        else:
            if payment.status != PaymentStatus.PAID:
                raise InvalidTransition(_("Only a paid payment can be refunded."), status=payment.status)
            sending = payment.refunds.filter(status=RefundStatus.PENDING).aggregate(s=Sum("amount"))["s"] or 0
            remaining = payment.amount - payment.refunded_amount - sending
            if amount <= 0 or amount > remaining:
                raise PaymentValidationError(_("Refund between 0.01 and %(remaining)s.") % {"remaining": remaining})
            refund = Refund.objects.create(
                payment=payment,
                amount=amount,
                reason=reason[:255],
                actor=label,
                **({"number": number} if number else {}),
            )
    if payment.gateway == Gateway.MANUAL:
        gateway_refund_id = refund.number  # paid back by bank transfer; finance records it here
    else:
        try:
            gateway_refund_id = get_gateway(payment.gateway).refund(
                reference=payment.reference,
                gateway_txn_id=payment.gateway_txn_id or "",
                amount=amount,
                currency=payment.currency,
                refund_id=refund.number,
                total=payment.amount,
            )
        except GatewayError as exc:
            _refund_failed(refund, exc, user)
            raise GatewayUnavailable(str(exc)) from exc
    event = PaymentEvent.objects.create(
        gateway=payment.gateway,
        direction=PaymentEvent.Direction.OUTBOUND,
        kind="refund",
        payment=payment,
        reference=payment.reference,
        amount=amount,
        currency=payment.currency,
        gateway_txn_id=gateway_refund_id,
        body=json.dumps({"refund": refund.number, "refund_id": gateway_refund_id, "amount": str(amount)}),
        actor=label,
        user=user,
    )
    n = Notification(
        reference=payment.reference,
        outcome="refund",
        event_type=(reason or "refund")[:60],
        currency=payment.currency,
        refund_id=gateway_refund_id,
        refund_amount=amount,
    )
    result = _apply(payment, n, event, user, refund=refund)
    if not result.accepted:
        raise PaymentValidationError(result.message)
    refund.refresh_from_db()
    return refund


def _refund_failed(refund: Refund, exc: GatewayError, user: AbstractBaseUser) -> None:
    """A refusal frees the amount; an unreachable gateway leaves the refund pending (it may have refunded:
    asking again with the same number is safe, and the gateway's notification settles it)."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        refund.error = str(exc)[:500]
        fields = ["error", "updated_at"]
        if not exc.transient and refund.status == RefundStatus.PENDING:
            transition_apply(refund, "fail", actor=user, reason=refund.error)
            fields.append("status")
        refund.save(update_fields=fields)


def payment_resolve_attention(*, payment: Payment, user: AbstractBaseUser) -> None:
    Payment.objects.filter(pk=payment.pk).update(attention="", updated_at=timezone.now())
    logger.info("attention on %s cleared by %s", payment.reference, user.get_username())


def payment_refund_return(*, number: str, user: AbstractBaseUser) -> Refund:
    """Refund a received return through the order's payment, once: the refund's number comes from the
    return, so a double submit (or a retry after a timeout) finds the same refund and sends nothing new."""
    ret = Return.objects.select_related("order").get(number=number)
    if ret.status != ReturnStatus.RECEIVED:
        raise InvalidTransition(_("Only a received return can be refunded."), status=ret.status)
    payment = ret.order.payments.filter(status=PaymentStatus.PAID).order_by("paid_at", "pk").first()
    if payment is None:
        raise PaymentValidationError(_("The order has no payment left to refund."))
    amount = min(ret.refund_amount, payment.amount - payment.refunded_amount)
    refund = payment_refund(
        payment=payment,
        amount=amount,
        user=user,
        reason=str(_("Return %(n)s") % {"n": ret.number}),
        number=f"RF{ret.number}",
    )
    if refund.status == RefundStatus.SUCCEEDED:
        with transaction.atomic():
            ret = Return.objects.select_for_update().select_related("order").get(pk=ret.pk)
            if ret.status == ReturnStatus.RECEIVED:
                return_mark_refunded(ret=ret, actor=user, reason=refund.number)
    return refund
