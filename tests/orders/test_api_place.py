"""Placement over the API: the contract's success shape, and every error code leaving nothing behind."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.models import TransitionLog
from inventory.models import Reservation, StockItem, StockMovement
from notifications.models import Notification
from orders.models import BlockedCustomer, Coupon, IdempotencyKey, Order, OrderItem
from tests.conftest import order_body
from tests.factories import CouponFactory, ProductFactory, WarehouseFactory, stock


def state():
    return {
        "orders": Order.objects.count(),
        "items": OrderItem.objects.count(),
        "reservations": Reservation.objects.count(),
        "movements": StockMovement.objects.count(),
        "reserved": StockItem.objects.aggregate(s=Sum("reserved"))["s"],
        "coupon_uses": Coupon.objects.aggregate(s=Sum("used_count"))["s"],
        "keys": IdempotencyKey.objects.count(),
        "log": TransitionLog.objects.count(),
    }


@pytest.fixture
def second(warehouse):
    p = ProductFactory(sku="SKU-002", price="45.50")
    stock(p, warehouse, 3)
    return p


@pytest.mark.django_db
def test_place_order_returns_the_contract_shape_and_reserves_stock(place, product):
    response = place(
        order_body(
            customer={**order_body()["customer"], "email": "  Zhang.San@Example.COM ", "phone": "138 0013 8000"},
            coupon_code=" welcome10 ",
        )
        | {"coupon_code": None}
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "pending" and body["payment_status"] == "pending"
    assert body["shipping_status"] == "unfulfilled"
    assert body["customer"]["email"] == "zhang.san@example.com"
    assert body["customer"]["phone"] == "+8613800138000"
    assert body["items"] == [
        {"sku": "SKU-001", "name": product.name, "quantity": 2, "unit_price": "99.00", "total_price": "198.00"}
    ]
    assert body["pricing"] == {
        "subtotal": "198.00",
        "shipping": "0.00",
        "tax": "0.00",
        "discount": "0.00",
        "total": "198.00",
    }
    assert body["warnings"] == [] and body["payments"] == [] and body["shipments"] == []
    assert response["Location"] == f"/api/v1/orders/{body['number']}/"
    item = StockItem.objects.get(product=product)
    assert (item.on_hand, item.reserved) == (100, 2)
    reservation = Reservation.objects.get(holder=body["number"])
    assert reservation.quantity == 2 and reservation.state == "active"
    assert abs(reservation.expires_at - timezone.now() - timedelta(minutes=15)) < timedelta(seconds=30)
    assert StockMovement.objects.filter(reference=body["number"], kind="reserve", reserved_delta=2).count() == 1
    log = TransitionLog.objects.get(object_repr=body["number"])
    assert (log.source, log.target, log.actor) == ("", "pending", "api:test-shop")


@pytest.mark.django_db
def test_coupon_code_is_upper_cased_and_counted(place, product):
    CouponFactory(code="WELCOME10", kind="percent", value=Decimal("10"))
    response = place(order_body(coupon_code=" welcome10 "))
    assert response.status_code == 201, response.json()
    assert response.json()["pricing"]["discount"] == "19.80"
    assert response.json()["coupon_code"] == "WELCOME10"
    assert Coupon.objects.get().used_count == 1


# --- one test per error code; each leaves no order, stock hold, coupon use, key or ledger row -------


@pytest.fixture
def unchanged(product, second):
    CouponFactory(code="ONCE", kind="fixed", value=Decimal("5"), max_uses=1, used_count=1)
    CouponFactory(code="OLD", valid_until=timezone.now() - timedelta(days=1))
    CouponFactory(code="BIG", min_subtotal=Decimal("1000"))
    BlockedCustomer.objects.create(identifier="fraud@example.com")
    before = state()
    yield
    assert state() == before


def item(sku="SKU-001", quantity=1, unit_price="99.00"):
    return {"sku": sku, "quantity": quantity, "unit_price": unit_price}


@pytest.mark.django_db
def test_idempotency_key_missing(api, unchanged):
    for headers in (
        {},
        {"HTTP_IDEMPOTENCY_KEY": ""},
        {"HTTP_IDEMPOTENCY_KEY": "has space"},
        {"HTTP_IDEMPOTENCY_KEY": "x" * 256},
    ):
        response = api.post("/api/v1/orders/", order_body(), format="json", **headers)
        assert response.status_code == 400
        assert response.json()["code"] == "idempotency_key_missing"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        (order_body(customer={**order_body()["customer"], "email": "not-an-email"}), "customer.email"),
        (order_body(customer={**order_body()["customer"], "phone": "12345"}), "customer.phone"),
        (
            order_body(customer={**order_body()["customer"], "address": {"street": "x", "country": "CN"}}),
            "customer.address.city",
        ),
        (order_body(items=[]), "items"),
        (order_body(items=[item(quantity=0)]), "items.0.quantity"),
        (order_body(items=[item(), item()]), "items"),
        (order_body(items=[{"sku": "SKU-001", "quantity": 1, "unit_price": 99.0}]), "items.0.unit_price"),
        (order_body(shipping_method="teleport"), "shipping_method"),
        (order_body(currency="USD"), "currency"),
        ({"customer": "nope"}, "customer"),
    ],
)
def test_validation_error(place, unchanged, body, field):
    response = place(body)
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["errors"], response.json()


@pytest.mark.django_db
def test_unknown_product_lists_every_unknown_sku(place, unchanged):
    response = place(order_body(items=[item("NOPE-1"), item(), item("NOPE-2")]))
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_product"
    assert response.json()["skus"] == ["NOPE-1", "NOPE-2"]


@pytest.mark.django_db
def test_product_unavailable(place, unchanged, second):
    second.is_active = False
    second.save()
    response = place(order_body(items=[item(), item("SKU-002", unit_price="45.50")]))
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["skus"]) == ("product_unavailable", ["SKU-002"])


@pytest.mark.django_db
def test_price_mismatch(place, unchanged):
    response = place(order_body(items=[item(unit_price="89.00"), item("SKU-002", unit_price="45.50")]))
    assert response.status_code == 400
    assert response.json()["code"] == "price_mismatch"
    assert response.json()["items"] == [{"sku": "SKU-001", "expected": "99.00", "given": "89.00"}]


@pytest.mark.django_db
def test_quantity_limit_exceeded(place, unchanged):
    response = place(order_body(items=[item(quantity=6)]))
    assert response.status_code == 400
    assert response.json()["code"] == "quantity_limit_exceeded"
    assert response.json()["items"] == [{"sku": "SKU-001", "requested": 6, "limit": 5}]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("code", "reason"), [("NOSUCH", "unknown"), ("ONCE", "exhausted"), ("OLD", "expired"), ("BIG", "min_subtotal")]
)
def test_invalid_coupon(place, unchanged, code, reason):
    response = place(order_body(coupon_code=code))
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["reason"]) == ("invalid_coupon", reason)


@pytest.mark.django_db
@pytest.mark.parametrize("customer", [{"email": "FRAUD@example.com"}, {"id": "fraud@example.com"}])
def test_customer_blocked(place, unchanged, customer):
    response = place(order_body(customer={**order_body()["customer"], **customer}))
    assert response.status_code == 403
    assert response.json()["code"] == "customer_blocked"


@pytest.mark.django_db
def test_out_of_stock_lists_every_short_item(place, unchanged):
    response = place(order_body(items=[item(quantity=5), item("SKU-002", quantity=4, unit_price="45.50")]))
    assert response.status_code == 409
    assert response.json()["code"] == "out_of_stock"
    assert response.json()["items"] == [{"sku": "SKU-002", "requested": 4, "available": 3, "shortfall": 1}]


@pytest.mark.django_db
def test_duplicate_order(place, product):
    first = place(order_body(), key="a")
    assert first.status_code == 201
    before = state()
    response = place(order_body(), key="b")
    assert response.status_code == 409
    assert response.json() == {
        "code": "duplicate_order",
        "detail": response.json()["detail"],
        "order": first.json()["number"],
    }
    assert state() == before
    assert place(order_body(allow_duplicate=True), key="c").status_code == 201


@pytest.mark.django_db
def test_the_placements_messages_and_its_key_are_one_statement(place, product):
    """The messages wait for the key (core.db.writes_at_end) and both go in one INSERT statement; a key that a
    concurrent request committed first still fails there (test_concurrency's ten threads, one key)."""
    with CaptureQueriesContext(connection) as captured:
        response = place()
    assert response.status_code == 201
    sqls = [q["sql"] for q in captured.captured_queries]
    writes = [sql for sql in sqls if "notifications_notification" in sql or "orders_idempotencykey" in sql]
    assert len(writes) == 1 and "orders_idempotencykey" in writes[0] and "notifications_notification" in writes[0]
    number = response.json()["number"]
    assert Notification.objects.filter(order__number=number, event="order_placed").exists()
    assert IdempotencyKey.objects.get(order_number=number).response_body == response.json()


@pytest.mark.django_db
def test_idempotency_key_reused_with_another_body(place, product):
    assert place(order_body(), key="same").status_code == 201
    before = state()
    response = place(order_body(items=[item(quantity=3)]), key="same")
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert state() == before


@pytest.mark.django_db
def test_same_key_same_body_replays_the_stored_response(place, product):
    first = place(order_body(), key="k")
    before = state()
    again = place(order_body(), key="k")
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert state() == before
    assert "Idempotent-Replayed" not in first


@pytest.mark.django_db
@pytest.mark.parametrize("redis_url", ["redis://127.0.0.1:6379/15", ""], ids=["redis", "django-cache"])
def test_throttled(place, product, settings, redis_url):
    settings.REDIS_URL = redis_url
    settings.API_THROTTLE_RATE = "2/min"
    assert place().status_code == 201
    assert place(order_body(allow_duplicate=True)).status_code == 201
    before = state()
    response = place(order_body(allow_duplicate=True))
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert "Retry-After" in response
    assert state() == before


@pytest.mark.django_db
def test_unauthenticated_requests_get_401(client, product):
    response = client.post(
        "/api/v1/orders/",
        order_body(),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k",
        HTTP_AUTHORIZATION="Token wrong",
    )
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    assert client.get("/api/v1/products/").status_code == 401
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_fourth_identical_order_in_five_minutes_is_held_for_review(place, product):
    bodies = [place(order_body(allow_duplicate=True)).json() for _ in range(4)]
    assert [b["warnings"] for b in bodies] == [[], [], [], ["held_for_review"]]
    held = Order.objects.get(number=bodies[3]["number"])
    assert held.review_status == "held"
    assert Order.objects.filter(review_status="held").count() == 1


@pytest.mark.django_db
def test_items_split_across_warehouses_in_priority_order(place, product):
    gz = WarehouseFactory(code="GZ", priority=5)
    cup = ProductFactory(sku="CUP", price="10.00", max_quantity_per_order=50)
    sh_item = stock(cup, product.stock_items.get().warehouse, 4)
    gz_item = stock(cup, gz, 10)
    response = place(order_body(items=[{"sku": "CUP", "quantity": 7, "unit_price": "10.00"}]))
    assert response.status_code == 201
    sh_item.refresh_from_db()
    gz_item.refresh_from_db()
    assert (sh_item.reserved, gz_item.reserved) == (4, 3)
    assert Reservation.objects.filter(holder=response.json()["number"]).count() == 2


@pytest.mark.django_db
def test_restock_alert_when_availability_falls_to_reorder_point(place, product):
    from inventory.models import RestockAlert

    place(order_body(items=[item(quantity=5)]))
    assert not RestockAlert.objects.exists()
    item_row = product.stock_items.get()
    StockItem.objects.filter(pk=item_row.pk).update(on_hand=16)  # 16 - 5 reserved = 11 available, point is 10
    response = place(order_body(items=[item(quantity=1)], allow_duplicate=True))
    assert response.status_code == 201
    alert = RestockAlert.objects.get()
    assert (alert.available, alert.reorder_point, alert.reference) == (10, 10, response.json()["number"])
