"""Storefront reads. Every one is scoped to the storefront (client) asking: another's orders do not exist for it."""

import functools
import operator
import re
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Q, QuerySet, Value, prefetch_related_objects
from django.db.models.constants import LOOKUP_SEP
from django.db.models.functions import StrIndex, Upper
from django.shortcuts import get_object_or_404

from core.db import advisory_lock_id, model_from_row, prefetched, row_columns
from core.models import TransitionLog
from core.search import field_lookup, search_words
from inventory.models import Product
from inventory.selectors import availability_from_rows, availability_query, availability_sql

from .models import BlockedCustomer, Coupon, Order, OrderItem, OrderSearch, OrderStatus, Return

PHONE = re.compile(r"^\+?\d{8,}$")  # the admin search's phone numbers (_telling_part)
SEARCH_PROBE_ROWS = 1_000  # the newest orders a search word is tried on first
SEARCH_COMMON_IN_PROBE = 10  # a word in 1% of them is common: walked for, not gathered


@dataclass(frozen=True)
class PlacementReads:
    blocked: bool
    products: dict[str, Product]
    available: dict[int, list[tuple[int, int]]]
    order_id: int | None  # the new order's id, taken from its sequence (PostgreSQL)


def placement_reads(*, lock: str, identifiers: list[str], skus: list[str]) -> PlacementReads:
    """Everything a placement reads before it writes, in its transaction's first statement: the content lock
    (placements of the same customer and lines wait for each other until commit, so the duplicate rule below
    sees every earlier one), whether the customer is blocked, the products with their stock rows, and an id
    for the new order, so its rows can be inserted in one statement (core.db.insert_together).

    Hand-written around the ORM's own availability query because four round trips here were a third of a
    placement's statements. SQLite (`make run`) reads them one by one; its transactions run one at a time.
    """
    if connection.vendor != "postgresql":
        blocked = BlockedCustomer.objects.filter(identifier__in=identifiers).exists()
        return PlacementReads(blocked, *availability_from_rows(availability_query(skus=skus)), order_id=None)
    with connection.cursor() as cursor:
        cursor.execute(_placement_reads_sql(len(identifiers), len(skus)), [advisory_lock_id(lock), *identifiers, *skus])
        rows = cursor.fetchall()
    products, available = availability_from_rows(row[2:] for row in rows)
    return PlacementReads(blocked=rows[0][0], products=products, available=available, order_id=rows[0][1])


def recent_same_content(
    *, client_id: int, customer_id: str, content_hash: str, since: datetime, review_since: datetime
) -> list[tuple[str, bool]]:
    """The customer's orders of the same content since `since`, newest first, cancelled ones aside, each with
    whether it is within the review window (the duplicate rule). Hand-written because building and compiling
    the queryset cost more than running it, on every placement; it reads `order_client_customer_idx`."""
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT number, created_at >= %s FROM {Order._meta.db_table} "
            "WHERE customer_id = %s AND content_hash = %s AND created_at >= %s AND client_id = %s AND status <> %s "
            "ORDER BY created_at DESC LIMIT 50",
            [adapt(review_since), customer_id, content_hash, adapt(since), client_id, OrderStatus.CANCELLED],
        )
        return [(number, bool(in_review_window)) for number, in_review_window in cursor.fetchall()]


@functools.lru_cache(maxsize=64)
def _placement_reads_sql(identifiers: int, skus: int) -> str:
    """placement_reads' statement for so many identifiers and SKUs, built once per process (each value a
    parameter of its own, not an array: PostgreSQL then keeps one generic plan for it; see _reserve_sql)."""
    blocked = f"SELECT 1 FROM {BlockedCustomer._meta.db_table} WHERE identifier IN ({', '.join(['%s'] * identifiers)})"
    return f"""
        SELECT head.blocked, head.order_id, p.*
        FROM (
            SELECT pg_advisory_xact_lock(%s) AS locked,
                   EXISTS ({blocked}) AS blocked,
                   nextval(pg_get_serial_sequence('{Order._meta.db_table}', 'id')) AS order_id
        ) head
        LEFT JOIN LATERAL ({availability_sql(skus)}) p ON true
        """


# An order's parcels and returns, none before it ships (order_detail_read loads them only when there are any).
_LATER_RELATIONS = ("shipments__events", "shipments__warehouse", "returns__lines")


def order_detail_queryset() -> QuerySet[Order]:
    return Order.objects.select_related("coupon").prefetch_related("items", "payments", *_LATER_RELATIONS)


def order_detail_read(pk: int) -> Order:
    """`order_detail_queryset().get(pk=pk)` in one round trip (PostgreSQL), for a webhook's body inside the
    change's transaction: the ORM sent five statements and compiled each anew, which made a payment's apply
    with one endpoint four times dearer. Shipments and returns, none before an order ships, are loaded the
    ORM's way when there are any."""
    if connection.vendor != "postgresql":
        return order_detail_queryset().get(pk=pk)
    statements = _order_detail_sql()
    connection.ensure_connection()
    # The four reads in one round trip (psycopg's pipeline), each a prepared statement.
    with connection.connection.pipeline():
        cursors = [connection.cursor() for _ in statements]
        for cursor, sql in zip(cursors, statements, strict=True):
            cursor.execute(sql, [pk] * sql.count("%s"))
    row, *rest = (c.fetchall() for c in cursors)
    for c in cursors:
        c.close()
    if not row:
        raise Order.DoesNotExist(f"no order with id {pk}")
    *columns, later = row[0]
    order = model_from_row(Order, columns)
    found = [
        [model_from_row(model, r) for r in rows]
        for model, rows in zip((Coupon, OrderItem, _related(Order.payments)), rest, strict=True)
    ]
    coupons, items, payments = found
    Order.coupon.field.set_cached_value(order, coupons[0] if coupons else None)
    prefetched(order, items=items, payments=payments)
    if later:
        prefetch_related_objects([order], *_LATER_RELATIONS)
    else:
        prefetched(order, shipments=[], returns=[])
    return order


def _related(descriptor):
    """The model on the other side of a reverse relation (payments, shipments: apps that depend on orders)."""
    return descriptor.rel.related_model


@functools.cache
def _order_detail_sql() -> str:
    def rows(model, where: str) -> str:
        order_by = ", ".join(
            f"{model._meta.get_field(f.lstrip('-')).column}{' DESC' if f.startswith('-') else ''}"
            for f in model._meta.ordering
        )
        return f"SELECT {row_columns(model)} FROM {model._meta.db_table} WHERE {where} ORDER BY {order_by}"

    later = " OR ".join(
        f"EXISTS (SELECT 1 FROM {m._meta.db_table} WHERE order_id = %s)" for m in (_related(Order.shipments), Return)
    )
    return tuple(
        [
            f"SELECT {row_columns(Order)}, {later} FROM {Order._meta.db_table} WHERE id = %s",
            f"SELECT {row_columns(Coupon)} FROM {Coupon._meta.db_table} "
            f"WHERE id = (SELECT coupon_id FROM {Order._meta.db_table} WHERE id = %s)",
            rows(OrderItem, "order_id = %s"),
            rows(_related(Order.payments), "order_id = %s"),
        ]
    )


def order_list(*, client: AbstractBaseUser, customer_id: str | None = None) -> QuerySet[Order]:
    qs = order_detail_queryset().filter(client=client).order_by("-created_at", "-id")
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    return qs


def order_get(*, client: AbstractBaseUser, number: str, detail: bool = True) -> Order:
    """The storefront's order NUMBER, or 404 `not_found` (also when another storefront placed it)."""
    qs = order_detail_queryset() if detail else Order.objects.only("pk", "number", "client_id")
    return get_object_or_404(qs, client=client, number=number)


def order_logs() -> QuerySet[TransitionLog]:
    """The transition log rows of orders (the log holds every model's)."""
    return TransitionLog.objects.filter(content_type=ContentType.objects.get_for_model(Order))


def order_reached_at(*, order: Order, condition: Q):
    """When the order last made a logged change matching `condition` (e.g. its status became shipped)."""
    return (
        order_logs()
        .filter(condition, object_id=str(order.pk))
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )


def order_timeline(*, order: Order) -> list[dict]:
    """The order page's timeline: every state change of the order and of its returns, and every staff
    comment, oldest first, in words (a fixed number of queries, whatever the order's age)."""
    from core.fsm import actor_display, change_display

    from .models import OrderComment, Return

    logs = order_logs().filter(object_id=str(order.pk)).order_by("created_at", "id")
    entries = [
        {
            "time": log.created_at,
            "who": actor_display(log.actor),
            "what": change_display(Order, log),
            "note": log.reason,
            "kind": "change",
        }
        for log in logs
    ]
    entries += [
        {"time": c.created_at, "who": actor_display(c.actor), "what": "", "note": c.text, "kind": "comment"}
        for c in OrderComment.objects.filter(order=order)
    ]
    return_logs = TransitionLog.objects.filter(
        content_type=ContentType.objects.get_for_model(Return),
        object_id__in=[str(pk) for pk in Return.objects.filter(order=order).values_list("pk", flat=True)],
    )
    entries += [
        {
            "time": log.created_at,
            "who": actor_display(log.actor),
            "note": log.reason,
            "kind": "change",
            "what": f"{log.object_repr} · {change_display(Return, log)}",
        }
        for log in return_logs
    ]
    return sorted(entries, key=lambda e: e["time"])


def order_search(queryset: QuerySet[Order], term: str, fields: list[str]) -> QuerySet[Order]:
    """The orders a staff search finds: every word matches one of `fields`, in the admin's search_fields syntax
    ("=field": the whole value, any case; otherwise a part of it).

    A word is first tried on the newest SEARCH_PROBE_ROWS orders. A word in few of them (most searches: a
    number, an address, a phone) is asked field by field, each on its own index (trigram indexes for the parts,
    on OrderSearch since migration orders 0022; UPPER() indexes for whole values), and the answers united: one
    OR across the order's columns and its payments' and parcels' scans every order. A word in many of them (a
    common name, a shared domain) is tested row by row walking the newest orders, which finds a page of them at
    once: the union would gather them all first (4-6 s at a million orders, where the walk takes 10 ms and the
    capped count 30-300 ms)."""
    newest = Order.objects.order_by("-created_at").values("pk")[:SEARCH_PROBE_ROWS]
    for word in search_words(term):
        test = functools.reduce(operator.or_, (_row_test(f, word) for f in fields))
        if Order.objects.filter(test, pk__in=newest).count() >= SEARCH_COMMON_IN_PROBE:
            queryset = queryset.filter(test)
        else:
            matches = [_field_matches(f, word).order_by().values("pk") for f in fields]
            queryset = queryset.filter(pk__in=matches[0].union(*matches[1:]))
    return queryset


def _row_test(field: str, word: str) -> Q:
    if LOOKUP_SEP in field:  # another table's (payments, parcels): the orders it names, without a join per row
        return Q(pk__in=Order.objects.filter(**field_lookup(field, word)).values("pk"))
    return Q(**field_lookup(field, word))


def _field_matches(field: str, word: str) -> QuerySet:
    """The ids of the orders whose `field` matches, read from OrderSearch where it has the field (its primary
    key is the order's id), on its index."""
    searched = connection.vendor == "postgresql" and field.lstrip("=") in _SEARCH_COLUMNS
    rows = OrderSearch.objects if searched else Order.objects
    part = None if field.startswith("=") else _telling_part(word)
    if part is None:
        return rows.filter(**field_lookup(field, word))
    # The index is asked for the telling part only, and the whole word is checked on the few rows it finds:
    # STRPOS is icontains in a form the index does not take over.
    return (
        rows.filter(**field_lookup(field, part))
        .alias(_position=StrIndex(Upper(field), Upper(Value(word))))
        .filter(_position__gt=0)
    )


_SEARCH_COLUMNS = {f.name for f in OrderSearch._meta.concrete_fields} - {"order"}


def _telling_part(word: str) -> str | None:
    """The part of a word that sets it apart, when the rest is in nearly every order: an address's domain, a
    phone number's country and carrier prefix. Reading those trigrams' entries took 40-75 ms of a search at a
    million orders (tests.bench.admin); the telling part's take about 5."""
    local, at, _domain = word.partition("@")
    if at and len(local) >= 3:
        return local + at
    if PHONE.match(word):
        return word[-6:]
    return None
