"""The order-health page: its numbers agree with the database after a seeded mix of orders and refusals, its
query count does not grow with the orders, every group that reads orders may open it."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.models import Order
from payments.models import PaymentEvent
from tests.conftest import order_body
from tests.factories import UserFactory
from tests.payments.conftest import deliver, signed


def seed(api, client, place, n: int, tag: str) -> list[str]:
    numbers = []
    for i in range(n):
        number = place(order_body(customer={**order_body()["customer"], "id": f"{tag}-{i}"})).json()["number"]
        numbers.append(number)
        if i % 2 == 0:
            payment = api.post(f"/api/v1/orders/{number}/payments/", {"gateway": "stripe"}, format="json").json()
            deliver(client, signed(payment["reference"], "stripe"))
        if i % 3 == 0:
            place(order_body(items=[{"sku": "NOPE", "quantity": 1, "unit_price": "1.00"}]))  # unknown_product
    return numbers


def numbers_of(page: str) -> dict[str, str]:
    return dict(re.findall(r"<span>([^<]+)</span>\s*<a[^>]*>([^<]+)</a>", page))


@pytest.mark.django_db
def test_the_numbers_agree_with_the_database_and_queries_stay_bounded(api, client, place, product):
    boss = UserFactory(username="ops", group="Finance")
    seed(api, client, place, 6, "a")
    client.force_login(boss)
    with CaptureQueriesContext(connection) as few:
        page = client.get(reverse("order-health") + "?range=day").content.decode()
    client.logout()
    seed(api, client, place, 12, "b")
    client.force_login(boss)
    with CaptureQueriesContext(connection) as more:
        page = client.get(reverse("order-health") + "?range=day").content.decode()
    assert len(more) == len(few)  # not one query per order

    shown = numbers_of(page)
    assert shown["Confirmed"] == str(Order.objects.filter(status="confirmed").count()) == "9"
    assert shown["Pending payment"] == str(Order.objects.filter(status="pending").count()) == "9"
    callbacks = PaymentEvent.objects.filter(gateway="stripe", direction="in").count()
    assert re.fullmatch(rf"100\.0% of {callbacks} · p95 ≤ \d+ ms", shown["stripe"]), shown["stripe"]
    assert re.search(r'data-outcome="created">created: <strong>18</strong>', page)
    assert re.search(r'data-outcome="unknown_product">unknown_product: <strong>6</strong>', page)
    assert "no answer from the gateway" in page and 'id="queues"' in page


@pytest.mark.django_db
@pytest.mark.parametrize("group", ["Customer service", "Finance", "Warehouse"])
def test_every_group_reads_it_and_a_storefront_key_does_not(client, group):
    client.force_login(UserFactory(username=f"u-{group[:4]}", group=group))
    assert client.get(reverse("order-health") + "?range=week").status_code == 200
    assert client.get(reverse("order-health") + "?range=nonsense").status_code == 200
    client.force_login(UserFactory(username="nobody", is_staff=True))
    assert client.get(reverse("order-health")).status_code == 403


@pytest.mark.django_db
def test_two_thousand_orders_in_every_state_and_refusals(client, api_user):
    from decimal import Decimal

    from orders.health import placement_outcome_record
    from orders.models import OrderStatus

    statuses = [s for s, _label in OrderStatus.choices]
    money = {f: Decimal("10.00") for f in ("subtotal", "shipping", "tax", "discount", "total")}
    Order.objects.bulk_create(
        Order(
            client=api_user,
            status=statuses[i % len(statuses)],
            customer_id=f"bulk-{i}",
            customer_name="Bulk",
            customer_email=f"b{i}@example.com",
            customer_phone="+8613800138000",
            street="1 Rd",
            city="Shanghai",
            postal_code="200000",
            country="CN",
            currency="CNY",
            content_hash=f"{i:064d}",
            **money,
        )
        for i in range(2000)
    )
    refusals = {"out_of_stock": 120, "price_mismatch": 45, "validation_error": 30}
    for outcome, n in refusals.items():
        for _ in range(n):
            placement_outcome_record(outcome)
    client.force_login(UserFactory(username="ops", group="Customer service"))
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("order-health") + "?range=day").content.decode()
    assert len(queries) < 60
    shown = numbers_of(page)
    for status, label in OrderStatus.choices:
        assert shown[str(label)] == str(Order.objects.filter(status=status).count())
    assert sum(int(shown[str(label)]) for _s, label in OrderStatus.choices) == 2000
    for outcome, n in refusals.items():
        assert re.search(rf'data-outcome="{outcome}">{outcome}: <strong>{n}</strong>', page)
    assert "out_of_stock" in page and "restock the products" in page  # 120 of 195: the recommendation
