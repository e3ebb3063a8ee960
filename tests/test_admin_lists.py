"""Every admin list page costs the same number of queries however many rows it shows (no N+1)."""

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from fulfillment.models import Shipment
from fulfillment.tasks import start_fulfillment
from tests.conftest import order_body
from tests.factories import UserFactory
from tests.fulfillment.test_fulfillment import ship_all, track
from tests.payments.conftest import deliver, signed


def full_life(api, client, place, warehouse_user, i):
    """An order that has been paid, picked, shipped, tracked and notified about."""
    number = place(order_body(allow_duplicate=True, customer={**order_body()["customer"], "id": f"c{i}"})).json()[
        "number"
    ]
    payment = api.post(f"/api/v1/orders/{number}/payments/", {"gateway": "stripe"}, format="json").json()
    deliver(client, signed(payment["reference"], "stripe"))
    start_fulfillment(number)
    ship_all(number, warehouse_user)
    deliver(client, track(Shipment.objects.get(order__number=number).tracking_number, "delivered", timezone.now()))


@pytest.mark.django_db
def test_no_list_page_grows_its_queries_with_its_rows(api, client, place, product):
    warehouse_user = UserFactory(username="w", group="Warehouse")
    full_life(api, client, place, warehouse_user, 0)
    client.force_login(UserFactory(username="boss", is_superuser=True))
    urls = [reverse(f"admin:{m._meta.app_label}_{m._meta.model_name}_changelist") for m in admin.site._registry]
    urls.append(reverse("admin:index"))  # the to-do lists: one count query per item, whatever the rows

    def counts():
        result = {}
        for url in urls:
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code == 200, url
            result[url] = len(ctx)
        return result

    few = counts()
    for i in range(1, 6):
        full_life(api, client, place, warehouse_user, i)
    many = counts()
    grown = {url: (few[url], many[url]) for url in urls if many[url] != few[url]}
    assert grown == {}
