"""Stock rules: every change is a conditional UPDATE plus a ledger row, in one transaction.

Rows are always touched in stock-item id order so that concurrent multi-item orders cannot deadlock.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.db import require_transaction
from core.errors import ApplicationError
from core.events import emit

from .models import Product, Reservation, RestockAlert, StockItem, StockMovement, Warehouse


class OutOfStock(ApplicationError):
    code = "out_of_stock"
    default_detail = _("Not enough stock for some items.")


class StockError(ApplicationError):
    code = "stock_error"


class AllocationLost(Exception):
    """Some planned rows lost a race (their ids are the argument); `stock_reserve_lines` plans them again."""


@dataclass(frozen=True)
class Allocation:
    stock_item_id: int
    sku: str
    quantity: int


def stock_available_by_product(*, product_ids: Iterable[int]) -> dict[int, list[tuple[int, int]]]:
    """{product_id: [(stock_item_id, available), ...]} in warehouse priority order (unlocked read)."""
    rows = (
        StockItem.objects.filter(product_id__in=list(product_ids), warehouse__is_active=True)
        .order_by("warehouse__priority", "warehouse_id")
        .values_list("product_id", "id", "on_hand", "reserved")
    )
    result: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for product_id, item_id, on_hand, reserved in rows:
        result[product_id].append((item_id, on_hand - reserved))
    return result


def stock_plan(
    *, lines: Sequence[tuple[Product, int]], available: dict[int, list[tuple[int, int]]] | None = None
) -> list[Allocation]:
    """Allocate each line across warehouses in priority order, splitting when one is short.

    Reads without locks; `stock_reserve` re-checks every row with a conditional UPDATE.
    Raises OutOfStock listing every short line.
    """
    if available is None:
        available = stock_available_by_product(product_ids=[p.pk for p, _q in lines])
    allocations: list[Allocation] = []
    short = []
    for product, quantity in lines:
        rows = available.get(product.pk, [])
        total = sum(max(a, 0) for _i, a in rows)
        if total < quantity:
            short.append(
                {
                    "sku": product.sku,
                    "requested": quantity,
                    "available": max(total, 0),
                    "shortfall": quantity - max(total, 0),
                }
            )
            continue
        remaining = quantity
        for item_id, avail in rows:
            take = min(remaining, avail)
            if take > 0:
                allocations.append(Allocation(item_id, product.sku, take))
                remaining -= take
            if not remaining:
                break
    if short:
        raise OutOfStock(items=short)
    return allocations


def stock_reserve(*, holder: str, allocations: Sequence[Allocation], expires_at: datetime, actor: str) -> int:
    """Reserve planned stock inside the caller's transaction; returns the units reserved.

    Each row moves by `reserved = reserved + q WHERE on_hand - reserved >= q`, so stock can never be
    oversold whatever the concurrency; a row that no longer has the quantity raises AllocationLost and
    names the rows that were short (the others stay reserved, with their ledger rows). Rows are locked in id
    order, so orders never deadlock.
    """
    require_transaction("stock_reserve")
    merged: dict[int, int] = defaultdict(int)
    for a in allocations:
        merged[a.stock_item_id] += a.quantity
    rows = sorted(merged.items())
    reserve = _reserve_postgresql if connection.vendor == "postgresql" else _reserve_generic
    updated = reserve(rows=rows, holder=holder, expires_at=expires_at, actor=actor)
    crossed = [
        RestockAlert(stock_item_id=item_id, available=available, reorder_point=reorder_point, reference=holder)
        for item_id, available, reorder_point in updated
        if available <= reorder_point < available + merged[item_id]
    ]
    if crossed:
        RestockAlert.objects.bulk_create(crossed)
    if len(updated) != len(rows):
        raise AllocationLost(sorted(set(merged) - {item_id for item_id, _a, _r in updated}))
    return sum(merged.values())


def stock_reserve_lines(
    *,
    holder: str,
    lines: Sequence[tuple[Product, int]],
    expires_at: datetime,
    actor: str,
    available: dict[int, list[tuple[int, int]]] | None = None,
    attempts: int = 5,
) -> int:
    """Plan and reserve every line inside the caller's transaction; returns the units reserved.

    What a concurrent order took between the plan and the reservation is planned again from fresh numbers
    (the rows that were reserved stay reserved), so the caller never has to roll back and start over.
    Raises OutOfStock, naming each short line with its full quantity, when the stock is not there.
    """
    wanted = {p.sku: q for p, q in lines}
    by_sku = {p.sku: p for p, _q in lines}
    reserved = 0
    for _attempt in range(attempts):
        try:
            allocations = stock_plan(lines=lines, available=available)
        except OutOfStock as exc:
            raise _short_of(exc, wanted) from None
        try:
            return reserved + stock_reserve(holder=holder, allocations=allocations, expires_at=expires_at, actor=actor)
        except AllocationLost as lost:
            lost_ids = set(lost.args[0])
            missing: dict[str, int] = defaultdict(int)
            for a in allocations:
                if a.stock_item_id in lost_ids:
                    missing[a.sku] += a.quantity
                else:
                    reserved += a.quantity
            lines = [(by_sku[sku], q) for sku, q in missing.items()]
            available = None
    raise OutOfStock(items=[{"sku": p.sku, "requested": wanted[p.sku]} for p, _q in lines])


def _short_of(exc: OutOfStock, wanted: dict[str, int]) -> OutOfStock:
    """A re-plan's shortage told in terms of the whole line the customer asked for."""
    items = []
    for item in exc.extra["items"]:
        requested = wanted[item["sku"]]
        short = item["shortfall"]
        items.append({"sku": item["sku"], "requested": requested, "available": requested - short, "shortfall": short})
    return OutOfStock(items=items)


def _reserve_postgresql(*, rows, holder, expires_at, actor) -> list[tuple[int, int, int]]:
    params = {"holder": holder, "expires_at": expires_at, "actor": actor, "now": timezone.now()}
    for n, (stock_item_id, quantity) in enumerate(rows):
        params[f"id{n}"], params[f"q{n}"] = stock_item_id, quantity
    with connection.cursor() as cursor:
        cursor.execute(_reserve_sql(len(rows)), params)
        return cursor.fetchall()


@functools.lru_cache(maxsize=64)
def _reserve_sql(n: int) -> str:
    """One statement on PostgreSQL: lock the rows in id order, move them, and write the reservations and the
    ledger rows. On a hot SKU the row lock is then held for this statement and the COMMIT only.

    One text per number of rows, each id and quantity a parameter of its own, not arrays: PostgreSQL then
    keeps one generic plan of the prepared statement; with arrays of unknown length it judged the generic
    plan dearer and planned the statement anew on every placement (a quarter of a millisecond each)."""
    ids = ", ".join(f"%(id{i})s::bigint" for i in range(n))
    return f"""
WITH req(id, q) AS (VALUES {", ".join(f"(%(id{i})s::bigint, %(q{i})s::integer)" for i in range(n))}),
locked AS (
    SELECT s.id FROM inventory_stockitem s WHERE s.id IN ({ids}) ORDER BY s.id FOR NO KEY UPDATE
),
upd AS (
    UPDATE inventory_stockitem s SET reserved = s.reserved + req.q
    FROM req JOIN locked ON locked.id = req.id
    WHERE s.id = req.id AND s.on_hand - s.reserved >= req.q
    RETURNING s.id, req.q, s.on_hand - s.reserved AS available, s.reorder_point
),
res AS (
    INSERT INTO inventory_reservation (holder, stock_item_id, quantity, expires_at, state, created_at, updated_at)
    SELECT %(holder)s, upd.id, upd.q, %(expires_at)s, 'active', %(now)s, %(now)s FROM upd
),
mov AS (
    INSERT INTO inventory_stockmovement (stock_item_id, kind, quantity, on_hand_delta, reserved_delta, reference,
                                         actor, note, created_at)
    SELECT upd.id, 'reserve', upd.q, 0, upd.q, %(holder)s, %(actor)s, '', %(now)s FROM upd
)
SELECT id, available, reorder_point FROM upd
"""


def _reserve_generic(*, rows, holder, expires_at, actor) -> list[tuple[int, int, int]]:
    """Any database (SQLite for `make run`): one conditional UPDATE per row, then the inserts."""
    updated = []
    with connection.cursor() as cursor:
        for item_id, quantity in rows:
            cursor.execute(
                "UPDATE inventory_stockitem SET reserved = reserved + %s "
                "WHERE id = %s AND on_hand - reserved >= %s RETURNING on_hand - reserved, reorder_point",
                [quantity, item_id, quantity],
            )
            row = cursor.fetchone()
            if row is None:
                break
            updated.append((item_id, *row))
    taken = {item_id for item_id, _a, _r in updated}
    rows = [(i, q) for i, q in rows if i in taken]
    Reservation.objects.bulk_create(
        [Reservation(holder=holder, stock_item_id=i, quantity=q, expires_at=expires_at) for i, q in rows]
    )
    StockMovement.objects.bulk_create(
        [
            StockMovement(
                stock_item_id=i,
                kind=StockMovement.Kind.RESERVE,
                quantity=q,
                reserved_delta=q,
                reference=holder,
                actor=actor,
            )
            for i, q in rows
        ]
    )
    return updated


def stock_release(*, holder: str, actor: str, note: str = "") -> int:
    """Release every active reservation of a holder, exactly once; returns the units released."""
    return stock_release_many(holders=[holder], actor=actor, note=note)


def stock_release_many(*, holders: Sequence[str], actor: str, note: str = "") -> int:
    """stock_release for a sweep's batch of holders, in as many statements as for one."""
    return _settle(
        holders=holders,
        state=Reservation.State.ACTIVE,
        new_state=Reservation.State.RELEASED,
        kind=StockMovement.Kind.RELEASE,
        actor=actor,
        note=note,
    )


def _settle(
    *, holders: Sequence[str], state: str, new_state: str, kind: str, actor: str, note: str, except_warehouses=()
) -> int:
    """Move every reservation of the holders from `state` to `new_state`, exactly once, with ledger rows.

    The reservation rows are locked and re-checked, so two callers racing (a replayed callback, an
    expiry and a payment) find nothing left to do the second time.
    """
    deltas = {  # kind: (on_hand, reserved) per unit
        StockMovement.Kind.RELEASE: (0, -1),
        StockMovement.Kind.COMMIT: (-1, -1),
        StockMovement.Kind.RETURN: (1, 0),
    }[kind]
    if connection.vendor == "postgresql" and len(holders) == 1 and not except_warehouses:
        return _settle_one_postgresql(
            holder=holders[0], state=state, new_state=new_state, kind=kind, deltas=deltas, actor=actor, note=note
        )
    with transaction.atomic(savepoint=False):  # in a caller's transaction (a payment's): no savepoint round trips
        held = list(
            Reservation.objects.select_for_update()
            .filter(holder__in=holders, state=state)
            .exclude(stock_item__warehouse_id__in=except_warehouses)
            .order_by("stock_item_id", "id")
        )
        if not held:
            return 0
        Reservation.objects.filter(pk__in=[r.pk for r in held]).update(state=new_state, updated_at=timezone.now())
        per_item: dict[int, int] = defaultdict(int)
        per_line: dict[tuple[str, int], int] = defaultdict(int)  # one ledger row per holder and stock row
        for r in held:
            per_item[r.stock_item_id] += r.quantity
            per_line[r.holder, r.stock_item_id] += r.quantity
        if len(per_item) <= 2:  # one order's rows: a relative UPDATE each is the fewest round trips
            for item_id in sorted(per_item):
                q = per_item[item_id]
                StockItem.objects.filter(pk=item_id).update(
                    on_hand=F("on_hand") + deltas[0] * q, reserved=F("reserved") + deltas[1] * q
                )
        else:  # a batch: lock the rows in id order (as placements do: no deadlock), then one UPDATE for all
            _stock_add_many(per_item, deltas)
        StockMovement.objects.bulk_create(
            [
                StockMovement(
                    stock_item_id=i,
                    kind=kind,
                    quantity=q,
                    on_hand_delta=deltas[0] * q,
                    reserved_delta=deltas[1] * q,
                    reference=holder,
                    actor=actor,
                    note=note[:255],
                )
                for (holder, i), q in sorted(per_line.items())
            ]
        )
        return sum(per_item.values())


def _settle_one_postgresql(*, holder, state, new_state, kind, deltas, actor, note) -> int:
    """_settle of one holder (a payment, a cancellation) in one statement, as _reserve_sql does: four
    statements built by the ORM cost the payment worker more than anything else it did."""
    params = {
        "holder": holder,
        "state": state,
        "new_state": new_state,
        "kind": kind,
        "on_hand": deltas[0],
        "reserved": deltas[1],
        "actor": actor,
        "note": note[:255],
        "now": timezone.now(),
    }
    with connection.cursor() as cursor:
        cursor.execute(_SETTLE_ONE_SQL, params)
        return cursor.fetchone()[0]


# Reservation rows locked (and re-checked: a second settle racing this one finds nothing left), then the stock
# rows in id order, as placements lock them; one ledger row per stock row.
_SETTLE_ONE_SQL = """
WITH held AS MATERIALIZED (
    SELECT r.id, r.stock_item_id, r.quantity FROM inventory_reservation r
    WHERE r.holder = %(holder)s AND r.state = %(state)s
    ORDER BY r.stock_item_id, r.id FOR UPDATE
),
res AS (
    UPDATE inventory_reservation r SET state = %(new_state)s, updated_at = %(now)s FROM held WHERE r.id = held.id
),
per_item AS MATERIALIZED (SELECT stock_item_id AS id, sum(quantity)::integer AS q FROM held GROUP BY stock_item_id),
locked AS MATERIALIZED (
    SELECT s.id FROM inventory_stockitem s WHERE s.id IN (SELECT id FROM per_item) ORDER BY s.id FOR NO KEY UPDATE
),
upd AS (
    UPDATE inventory_stockitem s
    SET on_hand = s.on_hand + per_item.q * %(on_hand)s, reserved = s.reserved + per_item.q * %(reserved)s
    FROM per_item JOIN locked ON locked.id = per_item.id WHERE s.id = per_item.id
),
mov AS (
    INSERT INTO inventory_stockmovement (stock_item_id, kind, quantity, on_hand_delta, reserved_delta, reference,
                                         actor, note, created_at)
    SELECT per_item.id, %(kind)s, per_item.q, per_item.q * %(on_hand)s, per_item.q * %(reserved)s, %(holder)s,
           %(actor)s, %(note)s, %(now)s
    FROM per_item ORDER BY per_item.id
)
SELECT coalesce(sum(q), 0)::integer FROM per_item
"""


def _stock_add_many(per_item: dict[int, int], deltas: tuple[int, int]) -> None:
    """Add units times deltas to many stock rows. On PostgreSQL one UPDATE from arrays (bulk_update's CASE per row
    costs more Python than the whole sweep batch); on SQLite (`make run`) bulk_update of the locked rows."""
    ids = sorted(per_item)
    if connection.vendor == "postgresql":
        list(StockItem.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE inventory_stockitem s SET on_hand = s.on_hand + v.q * %s, reserved = s.reserved + v.q * %s "
                "FROM unnest(%s::bigint[], %s::int[]) AS v(id, q) WHERE s.id = v.id",
                [deltas[0], deltas[1], ids, [per_item[i] for i in ids]],
            )
        return
    items = list(StockItem.objects.filter(pk__in=ids))  # SQLite: the transaction holds the database's write lock
    for item in items:
        item.on_hand += deltas[0] * per_item[item.pk]
        item.reserved += deltas[1] * per_item[item.pk]
    StockItem.objects.bulk_update(items, ["on_hand", "reserved"])


def stock_commit(*, holder: str, actor: str, note: str = "") -> int:
    """The holder paid: its reserved units leave on_hand and reserved together."""
    return _settle(
        holders=[holder],
        state=Reservation.State.ACTIVE,
        new_state=Reservation.State.COMMITTED,
        kind=StockMovement.Kind.COMMIT,
        actor=actor,
        note=note,
    )


def stock_return(*, holder: str, actor: str, note: str = "", except_warehouses: Collection[int] = ()) -> int:
    """Committed units that never left the warehouse (a refund before shipping) go back on hand; units of
    `except_warehouses` (whose parcels already left) stay out."""
    return _settle(
        holders=[holder],
        state=Reservation.State.COMMITTED,
        new_state=Reservation.State.RETURNED,
        kind=StockMovement.Kind.RETURN,
        actor=actor,
        note=note,
        except_warehouses=except_warehouses,
    )


def _change_on_hand(
    *, stock_item: StockItem, delta: int, kind: str, reference: str, actor: str, note: str
) -> StockItem:
    """Move on_hand by delta (refused if it would drop below what is reserved), with a ledger row."""
    item = StockItem.objects.select_for_update().get(pk=stock_item.pk)
    if item.on_hand + delta < item.reserved:
        raise StockError(
            _("On hand cannot fall below the reserved quantity (%(reserved)s).") % {"reserved": item.reserved}
        )
    before = item.available
    StockItem.objects.filter(pk=item.pk).update(on_hand=F("on_hand") + delta)
    item.refresh_from_db(fields=["on_hand", "reserved"])
    StockMovement.objects.create(
        stock_item=item,
        kind=kind,
        quantity=abs(delta),
        on_hand_delta=delta,
        reference=reference,
        actor=actor,
        note=note[:255],
    )
    if item.available <= item.reorder_point < before:
        RestockAlert.objects.create(
            stock_item=item, available=item.available, reorder_point=item.reorder_point, reference=reference
        )
    # Back-orders take new stock first, in this transaction: no new order can be sold it in between.
    if delta > 0 and any(emit("stock.arrived", stock_item=item, actor=actor, reference=reference)):
        item.refresh_from_db(fields=["on_hand", "reserved"])  # back-orders took some of it
    return item


@transaction.atomic
def stock_receive(
    *, stock_item: StockItem, quantity: int, actor: str, reference: str = "", note: str = ""
) -> StockItem:
    if quantity <= 0:
        raise StockError(_("A receipt must add at least one unit."), code="validation_error")
    return _change_on_hand(
        stock_item=stock_item,
        delta=quantity,
        kind=StockMovement.Kind.RECEIPT,
        reference=reference,
        actor=actor,
        note=note,
    )


@transaction.atomic
def stock_adjust(*, stock_item: StockItem, delta: int, actor: str, reason: str, reference: str = "") -> StockItem:
    """A counted correction (stocktake, damage); the reason is kept on the ledger row."""
    if delta == 0:
        return stock_item
    return _change_on_hand(
        stock_item=stock_item,
        delta=delta,
        kind=StockMovement.Kind.ADJUSTMENT,
        reference=reference,
        actor=actor,
        note=reason,
    )


@transaction.atomic
def stock_set_level(
    *,
    product: Product,
    warehouse: Warehouse,
    on_hand: int,
    actor: str,
    reference: str,
    location: str | None = None,
    reorder_point: int | None = None,
) -> tuple[StockItem, bool]:
    """Bring a stock row to a counted level through the ledger; returns (item, whether stock moved)."""
    item, _created = StockItem.objects.get_or_create(product=product, warehouse=warehouse)
    changed_fields = []
    if location is not None and item.location != location:
        item.location = location
        changed_fields.append("location")
    if reorder_point is not None and item.reorder_point != reorder_point:
        item.reorder_point = reorder_point
        changed_fields.append("reorder_point")
    if changed_fields:
        item.save(update_fields=changed_fields)
    delta = on_hand - item.on_hand
    if delta:
        kind = StockMovement.Kind.RECEIPT if delta > 0 else StockMovement.Kind.ADJUSTMENT  # more stock came in
        item = _change_on_hand(
            stock_item=item,
            delta=delta,
            kind=kind,
            reference=reference,
            actor=actor,
            note=f"stock level set to {on_hand}",
        )
    return item, bool(delta)


@transaction.atomic
def stock_transfer(
    *, stock_item: StockItem, to_warehouse: Warehouse, quantity: int, actor: str, reason: str = ""
) -> tuple[StockItem, StockItem]:
    """Move units between warehouses: one ledger row out, one in, under one reference. Never below what
    the source has reserved; the arriving units serve back-orders first (`stock.arrived`)."""
    if quantity <= 0:
        raise StockError(_("Move at least one unit."), code="validation_error")
    if to_warehouse.pk == stock_item.warehouse_id:
        raise StockError(_("Choose another warehouse to move the stock to."), code="validation_error")
    target, _created = StockItem.objects.get_or_create(product_id=stock_item.product_id, warehouse=to_warehouse)
    list(StockItem.objects.select_for_update().filter(pk__in=[stock_item.pk, target.pk]).order_by("pk"))
    reference = f"TR-{timezone.now():%y%m%d%H%M%S}-{stock_item.pk}"
    source = _change_on_hand(
        stock_item=stock_item,
        delta=-quantity,
        kind=StockMovement.Kind.TRANSFER,
        reference=reference,
        actor=actor,
        note=reason,
    )
    target = _change_on_hand(
        stock_item=target,
        delta=quantity,
        kind=StockMovement.Kind.TRANSFER,
        reference=reference,
        actor=actor,
        note=reason,
    )
    return source, target


@transaction.atomic
def stock_return_receive(*, stock_item: StockItem, quantity: int, actor: str, reference: str) -> StockItem:
    """Returned goods put back on the shelf (a return's receipt): on hand rises, with a `return` ledger row."""
    if quantity <= 0:
        raise StockError(_("Restock at least one unit."), code="validation_error")
    return _change_on_hand(
        stock_item=stock_item,
        delta=quantity,
        kind=StockMovement.Kind.RETURN,
        reference=reference,
        actor=actor,
        note="returned by the customer",
    )


@transaction.atomic
def stock_receive_delivery(
    *, warehouse: Warehouse, lines: list[tuple[Product, int]], reference: str, actor: str, note: str = ""
) -> list[StockItem]:
    """A supplier's delivery into one warehouse: every line through the ledger under the delivery's
    reference, all or nothing (back-orders take what they wait for, line by line)."""
    if not reference.strip():
        raise StockError(_("Give the delivery's reference."), code="validation_error")
    received = []
    for product, quantity in lines:
        item, _created = StockItem.objects.get_or_create(product=product, warehouse=warehouse)
        received.append(stock_receive(stock_item=item, quantity=quantity, actor=actor, reference=reference, note=note))
    return received
