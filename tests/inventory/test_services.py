from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory import services
from inventory.models import Reservation, RestockAlert, StockItem, StockMovement
from inventory.services import (
    Allocation,
    AllocationLost,
    OutOfStock,
    stock_available_by_product,
    stock_plan,
    stock_release,
    stock_reserve,
    stock_reserve_lines,
)
from tests.factories import ProductFactory, WarehouseFactory, stock


@pytest.fixture(params=["postgresql", "generic"])
def reserve_path(request, monkeypatch):
    """Both ways of reserving (one PostgreSQL statement; per-row UPDATEs for SQLite) must agree."""
    if request.param == "generic":
        monkeypatch.setattr(services, "_reserve_postgresql", services._reserve_generic)
    return request.param


@pytest.mark.django_db
def test_reserve_moves_rows_writes_ledger_and_alerts(reserve_path):
    sh, gz = WarehouseFactory(code="SH", priority=1), WarehouseFactory(code="GZ", priority=2)
    p = ProductFactory(sku="P")
    a, b = stock(p, sh, 5, reorder_point=2), stock(p, gz, 10, reorder_point=9)
    plan = stock_plan(lines=[(p, 8)])
    assert plan == [Allocation(a.pk, "P", 5), Allocation(b.pk, "P", 3)]
    with transaction.atomic():
        assert stock_reserve(holder="ORD-1", allocations=plan, expires_at=timezone.now(), actor="t") == 8
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.reserved, b.reserved) == (5, 3)
    assert sorted(Reservation.objects.values_list("stock_item_id", "quantity", "state")) == sorted(
        [(a.pk, 5, "active"), (b.pk, 3, "active")]
    )
    assert StockMovement.objects.filter(kind="reserve").aggregate(s=Sum("reserved_delta"))["s"] == 8
    assert sorted(RestockAlert.objects.values_list("stock_item_id", "available")) == sorted([(a.pk, 0), (b.pk, 7)])


@pytest.mark.django_db
def test_a_lost_race_rolls_everything_back(reserve_path):
    p = ProductFactory(sku="P")
    item = stock(p, WarehouseFactory(code="SH"), 5)
    plan = stock_plan(lines=[(p, 4)])
    StockItem.objects.filter(pk=item.pk).update(reserved=3)  # someone else got there first
    with pytest.raises(AllocationLost), transaction.atomic():
        stock_reserve(holder="ORD-1", allocations=plan, expires_at=timezone.now(), actor="t")
    item.refresh_from_db()
    assert item.reserved == 3
    assert not Reservation.objects.exists() and not StockMovement.objects.filter(kind="reserve").exists()


@pytest.mark.django_db
def test_a_lost_row_is_planned_again_in_the_same_transaction(reserve_path):
    """The plan said 5 from SH + 3 from GZ; SH sold 4 meanwhile, so the lost 5 are planned again from fresh
    numbers (SH's last one, 4 more from GZ) and what was reserved stays: nothing rolls back."""
    sh, gz = WarehouseFactory(code="SH", priority=1), WarehouseFactory(code="GZ", priority=2)
    p = ProductFactory(sku="P")
    a, b = stock(p, sh, 5), stock(p, gz, 10)
    stale = stock_available_by_product(product_ids=[p.pk])
    StockItem.objects.filter(pk=a.pk).update(reserved=4)  # another order took SH's stock after our read
    with transaction.atomic():
        reserved = stock_reserve_lines(
            holder="ORD-1", lines=[(p, 8)], available=stale, expires_at=timezone.now(), actor="t"
        )
    assert reserved == 8
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.reserved, b.reserved) == (5, 7)
    held = Reservation.objects.filter(holder="ORD-1").values("stock_item").annotate(q=Sum("quantity"))
    assert {r["stock_item"]: r["q"] for r in held} == {a.pk: 1, b.pk: 7}
    moved = StockMovement.objects.filter(kind="reserve", reference="ORD-1").aggregate(s=Sum("reserved_delta"))["s"]
    assert moved == 8


@pytest.mark.django_db
def test_a_lost_row_with_nothing_left_elsewhere_is_out_of_stock_for_the_whole_line(reserve_path):
    sh, gz = WarehouseFactory(code="SH", priority=1), WarehouseFactory(code="GZ", priority=2)
    p = ProductFactory(sku="P")
    a, b = stock(p, sh, 5), stock(p, gz, 3)
    stale = stock_available_by_product(product_ids=[p.pk])
    StockItem.objects.filter(pk=a.pk).update(reserved=5)
    with pytest.raises(OutOfStock) as exc, transaction.atomic():
        stock_reserve_lines(holder="ORD-1", lines=[(p, 8)], available=stale, expires_at=timezone.now(), actor="t")
    assert exc.value.extra["items"] == [{"sku": "P", "requested": 8, "available": 3, "shortfall": 5}]
    b.refresh_from_db()
    assert b.reserved == 0 and not Reservation.objects.exists()


@pytest.mark.django_db
def test_plan_reports_every_short_line():
    wh = WarehouseFactory(code="SH")
    p1, p2, p3 = ProductFactory(sku="A"), ProductFactory(sku="B"), ProductFactory(sku="C")
    stock(p1, wh, 1)
    stock(p2, wh, 10)
    with pytest.raises(OutOfStock) as exc:
        stock_plan(lines=[(p1, 2), (p2, 3), (p3, 1)])
    assert exc.value.extra["items"] == [
        {"sku": "A", "requested": 2, "available": 1, "shortfall": 1},
        {"sku": "C", "requested": 1, "available": 0, "shortfall": 1},
    ]


@pytest.mark.django_db
def test_release_is_exactly_once():
    p = ProductFactory(sku="P")
    item = stock(p, WarehouseFactory(code="SH"), 5)
    with transaction.atomic():
        stock_reserve(
            holder="H",
            allocations=stock_plan(lines=[(p, 2)]),
            expires_at=timezone.now() + timedelta(minutes=1),
            actor="t",
        )
    assert stock_release(holder="H", actor="t") == 2
    assert stock_release(holder="H", actor="t") == 0
    item.refresh_from_db()
    assert item.reserved == 0
    assert StockMovement.objects.filter(kind="release").count() == 1


@pytest.mark.django_db
def test_adjust_refuses_to_drop_below_reserved_and_logs_the_reason():
    p = ProductFactory(sku="P")
    item = stock(p, WarehouseFactory(code="SH"), 5)
    StockItem.objects.filter(pk=item.pk).update(reserved=4)
    with pytest.raises(services.StockError):
        services.stock_adjust(stock_item=item, delta=-2, actor="warehouse", reason="broken")
    services.stock_adjust(stock_item=item, delta=-1, actor="warehouse", reason="broken in transit")
    item.refresh_from_db()
    assert item.on_hand == 4
    last = StockMovement.objects.order_by("-id").first()
    assert (last.kind, last.on_hand_delta, last.note, last.actor) == (
        "adjustment",
        -1,
        "broken in transit",
        "warehouse",
    )
    services.stock_receive(stock_item=item, quantity=6, actor="warehouse", reference="PO-1")
    item.refresh_from_db()
    assert item.on_hand == 10


@pytest.mark.django_db
def test_available_is_one_number_for_the_api_and_the_admin_and_skips_inactive_warehouses(api, client, product):
    from django.urls import reverse

    from tests.factories import UserFactory

    closed = WarehouseFactory(code="OLD", priority=9, is_active=False)
    stock(product, closed, 500)
    assert api.get("/api/v1/products/SKU-001/").json()["available"] == 100
    client.force_login(UserFactory(username="root", is_superuser=True))
    changelist = client.get(reverse("admin:inventory_product_changelist"))
    assert changelist.context["cl"].result_list[0].available == 100


@pytest.mark.django_db
def test_settling_one_holder_is_one_statement_and_agrees_with_the_batch_path():
    sh, gz = WarehouseFactory(code="SH", priority=1), WarehouseFactory(code="GZ", priority=2)
    p, q = ProductFactory(sku="P"), ProductFactory(sku="Q")
    a, b, c = stock(p, sh, 10), stock(p, gz, 10), stock(q, sh, 10)
    for holder in ("ONE", "TWO"):
        for plan in ([(a.pk, "P", 2), (b.pk, "P", 1), (c.pk, "Q", 1)], [(a.pk, "P", 3)]):
            with transaction.atomic():  # two reservation rows of the holder on stock row a
                stock_reserve(
                    holder=holder, allocations=[Allocation(*x) for x in plan], expires_at=timezone.now(), actor="t"
                )

    with CaptureQueriesContext(connection) as captured:
        assert services.stock_commit(holder="ONE", actor="t", note="paid") == 7
    assert len(captured.captured_queries) == 1  # PostgreSQL: one statement (others: the batch path's)
    assert (
        services._settle(  # two holders: the batch path
            holders=["TWO", "NOBODY"], state="active", new_state="committed", kind="commit", actor="t", note="paid"
        )
        == 7
    )
    assert services.stock_commit(holder="ONE", actor="t") == 0  # exactly once

    def ledger(holder):
        rows = StockMovement.objects.filter(reference=holder, kind="commit").order_by("stock_item_id")
        return list(rows.values_list("stock_item_id", "quantity", "on_hand_delta", "reserved_delta", "note"))

    assert (
        ledger("ONE")
        == ledger("TWO")
        == [(a.pk, 5, -5, -5, "paid"), (b.pk, 1, -1, -1, "paid"), (c.pk, 1, -1, -1, "paid")]
    )
    assert list(StockItem.objects.order_by("pk").values_list("on_hand", "reserved")) == [(0, 0), (8, 0), (8, 0)]
    assert set(Reservation.objects.values_list("state", flat=True)) == {"committed"}
