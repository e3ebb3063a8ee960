import pytest

from core.fsm import transition_apply
from core.models import TransitionLog
from inventory.models import Reservation, StockItem, StockMovement
from orders.models import Order
from tests.conftest import order_body


@pytest.mark.django_db
def test_read_order_and_list_by_customer_newest_first(api, place, product):
    first = place().json()
    second = place(order_body(allow_duplicate=True)).json()
    place(order_body(customer={**order_body()["customer"], "id": "other"}))
    detail = api.get(f"/api/v1/orders/{first['number']}/")
    assert detail.status_code == 200
    assert detail.json()["items"] == first["items"] and detail.json()["pricing"] == first["pricing"]
    listing = api.get("/api/v1/orders/", {"customer_id": "cust-42"}).json()
    assert listing["count"] == 2
    assert [o["number"] for o in listing["results"]] == [second["number"], first["number"]]
    assert set(listing) == {"count", "next", "previous", "results"}


@pytest.mark.django_db
def test_unknown_order_is_404_not_found(api):
    response = api.get("/api/v1/orders/NOPE/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert api.post("/api/v1/orders/NOPE/cancel/").status_code == 404


@pytest.mark.django_db
def test_cancel_releases_stock_once(api, place, product):
    number = place().json()["number"]
    response = api.post(f"/api/v1/orders/{number}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    item = StockItem.objects.get(product=product)
    assert (item.on_hand, item.reserved) == (100, 0)
    assert Reservation.objects.get(holder=number).state == "released"
    again = api.post(f"/api/v1/orders/{number}/cancel/")
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition" and again.json()["status"] == "cancelled"
    assert StockMovement.objects.filter(reference=number, kind="release").count() == 1
    log = TransitionLog.objects.filter(object_repr=number, field="status").last()
    assert (log.source, log.target, log.actor) == ("pending", "cancelled", "api:test-shop")


@pytest.mark.django_db
def test_a_confirmed_order_cannot_be_cancelled_by_the_storefront(api, place, product):
    number = place().json()["number"]
    order = Order.objects.get(number=number)
    transition_apply(order, "confirm", actor="task:test")
    order.save()
    response = api.post(f"/api/v1/orders/{number}/cancel/")
    assert response.status_code == 409
    assert response.json()["status"] == "confirmed"
    assert StockItem.objects.get(product=product).reserved == 2


@pytest.mark.django_db
def test_products_list_and_detail(api, product):
    listing = api.get("/api/v1/products/").json()
    assert listing["results"] == [
        {
            "sku": "SKU-001",
            "name": product.name,
            "price": "99.00",
            "currency": "CNY",
            "is_active": True,
            "available": 100,
            "max_quantity_per_order": 5,
        }
    ]
    assert api.get("/api/v1/products/SKU-001/").json()["available"] == 100
    assert api.get("/api/v1/products/NOPE/").status_code == 404
