import functools
from datetime import datetime, time

from django.db import connection
from django.db.models import F, QuerySet, Sum
from django.utils import timezone

from core.db import model_from_row, row_columns, row_lock
from orders.models import Order, OrderStatus

from .models import Payment, PaymentEvent, PaymentStatus


def payments_needing_attention(queryset: QuerySet[Payment] | None = None) -> QuerySet[Payment]:
    """Amount mismatches, late or double payments, and orders paid but awaiting restock."""
    queryset = Payment.objects.all() if queryset is None else queryset
    # Two indexed subqueries united (`> ""`: the attention index): one OR across payments and orders joins every
    # payment to its order.
    flagged = Payment.objects.filter(attention__gt="").order_by().values("pk")
    restock = Payment.objects.filter(order__status=OrderStatus.PENDING_RESTOCK, status=PaymentStatus.PAID)
    return queryset.filter(pk__in=flagged.union(restock.order_by().values("pk")))


def late_payments(queryset: QuerySet[Payment] | None = None) -> QuerySet[Payment]:
    """Paid after the order's reservation ran out, and not yet looked at by finance."""
    queryset = Payment.objects.all() if queryset is None else queryset
    return queryset.filter(attention__gt="", paid_at__gt=F("order__reservation_expires_at"))  # > "": the index


def received_today() -> list[tuple[str, str]]:
    """What each gateway brought in since midnight in the shop's time zone, as (gateway, "1,234.00 CNY")."""
    midnight = timezone.make_aware(datetime.combine(timezone.localdate(), time.min))
    rows = (
        Payment.objects.filter(paid_at__gte=midnight)
        .values("gateway", "currency")
        .annotate(total=Sum("amount"))
        .order_by("gateway", "currency")
    )
    labels = dict(Payment._meta.get_field("gateway").choices)
    return [(str(labels.get(r["gateway"], r["gateway"])), f"{r['total']:,.2f} {r['currency']}") for r in rows]


CALLBACK_FIELDS = ["id", "order_id", "amount", "currency"]


def payment_for_callback(*, gateway: str, reference: str) -> Payment | None:
    """The payment a callback names, with what its answer checks (the rest loads on access).

    Hand-written, its SQL built once: on the callback path the ORM's compilation of this one-row read cost
    several times the statement."""
    with connection.cursor() as cursor:
        cursor.execute(_payment_for_callback_sql(connection.vendor), [reference, gateway])
        row = cursor.fetchone()
    if row is None:
        return None
    payment_id, order_id, amount, currency = row
    amount = Payment._meta.get_field("amount").to_python(amount)  # SQLite hands back a float
    return Payment.from_db(connection.alias, CALLBACK_FIELDS, [payment_id, order_id, amount, currency])


@functools.cache
def _payment_for_callback_sql(vendor: str) -> str:
    quote, meta = connection.ops.quote_name, Payment._meta
    columns = ", ".join(quote(meta.get_field(name).column) for name in CALLBACK_FIELDS)
    reference, gateway = (quote(meta.get_field(name).column) for name in ("reference", "gateway"))
    return f"SELECT {columns} FROM {quote(meta.db_table)} WHERE {reference} = %s AND {gateway} = %s"


def inbox_events_locked(event_ids: list[int]) -> set[int]:
    """Which of these callbacks are still in the inbox, locked (the apply's re-check under the order's lock).

    Hand-written, its SQL built once per count: it runs for every payment applied, and the ORM's
    compilation of it cost more than the statement. The inbox is `payments.services.INBOX`."""
    with connection.cursor() as cursor:
        cursor.execute(
            _inbox_events_locked_sql(len(event_ids), connection.vendor),
            [*event_ids, PaymentEvent.Direction.INBOUND, PaymentEvent.Outcome.RECEIVED, True],
        )
        return {event_id for (event_id,) in cursor.fetchall()}


@functools.cache
def _inbox_events_locked_sql(count: int, vendor: str) -> str:
    quote, meta = connection.ops.quote_name, PaymentEvent._meta
    column = {name: quote(meta.get_field(name).column) for name in ("id", "direction", "outcome", "signature_valid")}
    sql = (
        f"SELECT {column['id']} FROM {quote(meta.db_table)} WHERE {column['id']} IN ({', '.join(['%s'] * count)}) "
        f"AND {column['direction']} = %s AND {column['outcome']} = %s AND {column['signature_valid']} = %s"
    )
    return sql + " FOR UPDATE" if connection.features.has_select_for_update else sql


def inbox_apply_locks(
    *, order_id: int, payment_id: int, event_ids: list[int], skip_locked: bool
) -> tuple[Order, Payment, set[int]] | None:
    """The inbox apply's locks, in the order every money path takes them: the order (None when another
    transaction holds it and `skip_locked`), its payment, then which of these callbacks are still in the inbox.

    One statement on PostgreSQL, where they were three of an apply's twelve round trips. The payment's read
    joins the order's (it needs the order's row first) and the callbacks' read runs on their joined row, so the
    locks are taken in that order still."""
    if connection.vendor != "postgresql":
        order = row_lock(Order, order_id, skip_locked=skip_locked)
        if order is None:
            return None
        return order, row_lock(Payment, payment_id), inbox_events_locked(event_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            _inbox_apply_locks_sql(len(event_ids), skip_locked),
            [order_id, payment_id, *event_ids, PaymentEvent.Direction.INBOUND, PaymentEvent.Outcome.RECEIVED, True],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    width = len(Order._meta.concrete_fields)
    order, payment = model_from_row(Order, row[:width]), model_from_row(Payment, row[width:-1])
    return order, payment, set(row[-1])


@functools.cache
def _inbox_apply_locks_sql(count: int, skip_locked: bool) -> str:
    quote = connection.ops.quote_name
    order_table, order_id = quote(Order._meta.db_table), quote(Order._meta.pk.column)
    payment_table, payment_id = quote(Payment._meta.db_table), quote(Payment._meta.pk.column)
    payment_order = quote(Payment._meta.get_field("order").column)
    events = _inbox_events_locked_sql(count, connection.vendor)
    return (
        f"WITH o AS MATERIALIZED (SELECT {row_columns(Order)} FROM {order_table} WHERE {order_id} = %s "
        f"FOR UPDATE{' SKIP LOCKED' if skip_locked else ''}), "
        f"p AS MATERIALIZED (SELECT {row_columns(Payment, 'p')} FROM {payment_table} p "
        f"JOIN o ON p.{payment_order} = o.{order_id} WHERE p.{payment_id} = %s FOR UPDATE OF p) "
        f"SELECT o.*, p.*, ARRAY({events}) FROM o, p"
    )
