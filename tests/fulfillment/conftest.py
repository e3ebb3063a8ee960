"""Orders ready for the warehouse: placed and paid through the API."""

import pytest

from orders.models import Order
from tests.conftest import order_body
from tests.factories import ProductFactory, stock
from tests.payments.conftest import deliver, signed


def pay(api, client, number, gateway="stripe"):
    payment = api.post(f"/api/v1/orders/{number}/payments/", {"gateway": gateway}, format="json").json()
    response = deliver(client, signed(payment["reference"], gateway))
    assert response.status_code in (200, 204), response.content
    assert Order.objects.get(number=number).status == "confirmed"


@pytest.fixture
def two_bins(warehouse, product):
    cup = ProductFactory(sku="CUP", price="10.00", weight_grams=200, fragile=True)
    stock(cup, warehouse, 50, location="A-00-01")
    return cup


@pytest.fixture
def paid(api, client, place, two_bins):
    body = order_body(
        items=[
            {"sku": "SKU-001", "quantity": 2, "unit_price": "99.00"},
            {"sku": "CUP", "quantity": 3, "unit_price": "10.00"},
        ]
    )
    number = place(body).json()["number"]
    pay(api, client, number)
    return number
