"""The storefront boundary: each storefront sees only its own orders, keys are stored hashed, and one click
makes one order under any concurrency (real threads on PostgreSQL; SQLite in a process of its own)."""

import json
import os
import subprocess
import sys
from collections import Counter
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from orders.models import Order, StorefrontKey
from payments.models import Payment
from tests.conftest import order_body, storefront_client, storefront_key
from tests.factories import UserFactory
from tests.orders.test_concurrency import run_threads

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def other_shop(db):
    return storefront_client(storefront_key(UserFactory(username="api:other-shop", is_staff=False)))


@pytest.mark.django_db
def test_another_storefront_can_neither_see_nor_touch_an_order(api, other_shop, place, product):
    mine = place().json()
    assert (
        api.post(f"/api/v1/orders/{mine['number']}/payments/", {"gateway": "stripe"}, format="json").status_code == 201
    )
    theirs = place(client=other_shop, key="theirs").json()
    number = mine["number"]

    assert other_shop.get("/api/v1/orders/").json()["count"] == 1  # only its own
    assert [o["number"] for o in other_shop.get("/api/v1/orders/").json()["results"]] == [theirs["number"]]
    assert other_shop.get("/api/v1/orders/", {"customer_id": "cust-42"}).json()["results"][0]["number"] != number
    for method, path, body in [
        ("get", f"/api/v1/orders/{number}/", None),
        ("post", f"/api/v1/orders/{number}/cancel/", None),
        ("post", f"/api/v1/orders/{number}/payments/", {"gateway": "alipay"}),
        ("post", f"/api/v1/orders/{number}/payments/", {"gateway": "no-such-gateway"}),
    ]:
        response = getattr(other_shop, method)(path, body, format="json")
        assert response.status_code == 404, (path, response.content)
        assert response.json()["code"] == "not_found"
    order = Order.objects.get(number=number)
    assert order.status == "pending" and Payment.objects.filter(order=order).count() == 1
    assert [o["number"] for o in api.get("/api/v1/orders/").json()["results"]] == [number]
    assert api.get(f"/api/v1/orders/{theirs['number']}/").status_code == 404


@pytest.mark.django_db
def test_the_same_customer_id_at_two_storefronts_is_two_customers(api, other_shop, place, product):
    """Duplicate detection is per storefront: its customer ids are its own."""
    assert place().status_code == 201
    assert place(client=other_shop).status_code == 201


@pytest.mark.django_db
def test_issued_keys_are_stored_hashed_shown_once_and_rotate(product):
    out = StringIO()
    call_command("issue_api_token", "web-shop", stdout=out, stderr=StringIO())
    key = out.getvalue().strip().splitlines()[-1]
    stored = StorefrontKey.objects.get(client__username="api:web-shop")
    assert key.startswith(stored.prefix + ".") and key not in stored.hashed_key and key not in stored.id
    with connection.cursor() as cursor:  # the key itself is nowhere in the table
        cursor.execute(
            "SELECT COUNT(*) FROM orders_storefrontkey WHERE id LIKE %s OR hashed_key LIKE %s", [f"%{key}%"] * 2
        )
        assert cursor.fetchone()[0] == 0
    api = storefront_client(key)
    number = api.post("/api/v1/orders/", order_body(), format="json", HTTP_IDEMPOTENCY_KEY="k1").json()["number"]

    out = StringIO()
    call_command("issue_api_token", "web-shop", stdout=out, stderr=StringIO())
    new_key = out.getvalue().strip().splitlines()[-1]
    refused = api.get("/api/v1/orders/")
    assert refused.status_code == 401 and refused.json()["code"] == "authentication_failed"
    assert storefront_client(new_key).get(f"/api/v1/orders/{number}/").status_code == 200  # same storefront


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["Token", "Token a b", "Token nope.nope", "Token 中文", "Token " + "x" * 300])
def test_malformed_or_unknown_keys_are_401(client, header):
    response = client.get("/api/v1/orders/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401 and response.json()["code"] in ("authentication_failed", "not_authenticated")


@pytest.mark.django_db
def test_staff_revoke_and_rotate_keys_in_the_admin(client, api, token, api_user):
    admin_user = UserFactory(username="boss", is_superuser=True)
    client.force_login(admin_user)
    key = StorefrontKey.objects.get(client=api_user)
    page = client.post(
        reverse("admin:orders_storefrontkey_changelist"),
        {"action": "rotate", "_selected_action": [key.pk]},
        follow=True,
    )
    new_key = next(str(m).rsplit(": ", 1)[1] for m in page.context["messages"] if "shown only now" in str(m))
    assert api.get("/api/v1/orders/").status_code == 401
    fresh = storefront_client(new_key)
    assert fresh.get("/api/v1/orders/").status_code == 200
    current = StorefrontKey.objects.get(client=api_user, revoked=False)
    client.post(
        reverse("admin:orders_storefrontkey_change", args=[current.pk]),
        {"name": current.name, "revoked": "on", "expiry_date_0": "", "expiry_date_1": ""},
    )
    assert StorefrontKey.objects.get(pk=current.pk).revoked
    assert fresh.get("/api/v1/orders/").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_twenty_double_clicks_under_fresh_keys_make_one_order_each(token, product):
    def click(i):
        pair = i // 2
        body = order_body(customer={**order_body()["customer"], "id": f"dbl-{pair}"})
        r = storefront_client(token).post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY=f"k{i}")
        return pair, r.status_code, r.json()

    results = run_threads(40, click)
    assert not [r for r in results if isinstance(r, Exception)], results
    for pair in range(20):
        answers = sorted((code, body.get("code")) for p, code, body in results if p == pair)
        assert answers == [(201, None), (409, "duplicate_order")], (pair, answers)
        created = next(body for p, code, body in results if p == pair and code == 201)
        refused = next(body for p, code, body in results if p == pair and code == 409)
        assert refused["order"] == created["number"]
    assert Order.objects.count() == 20
    assert product.stock_items.get().reserved == 40  # 20 orders of 2, nothing reserved twice


@pytest.mark.django_db(transaction=True)
def test_six_identical_allowed_duplicates_at_once_hold_exactly_three(token, product):
    def order(i):
        r = storefront_client(token).post(
            "/api/v1/orders/", order_body(allow_duplicate=True), format="json", HTTP_IDEMPOTENCY_KEY=f"a{i}"
        )
        return r.status_code, r.json()["warnings"]

    results = run_threads(6, order)
    assert Counter(code for code, _w in results) == {201: 6}
    assert sum(1 for _c, warnings in results if "held_for_review" in warnings) == 3
    assert Order.objects.filter(review_status="held").count() == 3


def test_one_order_per_click_on_sqlite_too(tmp_path):
    """`make run`'s SQLite: the same races, in a process of its own (its own database file)."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REDIS_URL": "",
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
    }
    run = subprocess.run(
        [sys.executable, "-m", "tests.orders.sqlite_race"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["pairs"] == [[[201, None], [409, "duplicate_order"]]] * 10
    assert result["held"] == 3 and result["orders"] == 16 and result["reserved"] == 32


@pytest.mark.django_db
def test_a_key_verified_lately_costs_no_query_and_a_revoked_one_stops_at_once(api, api_user, django_assert_num_queries):
    assert api.get("/api/v1/orders/").status_code == 200
    from rest_framework.test import APIRequestFactory

    from orders.auth import StorefrontKeyAuthentication

    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=api._credentials["HTTP_AUTHORIZATION"])
    with django_assert_num_queries(0):
        user, key = StorefrontKeyAuthentication().authenticate(request)
    assert user == api_user
    key.revoked = True
    key.save()  # as the admin's revoke does
    assert api.get("/api/v1/orders/").status_code == 401
