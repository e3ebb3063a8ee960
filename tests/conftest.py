import threading

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from rest_framework.test import APIClient

from config.celery_app import _wake_timers, _wakes_sent
from core.counters import counters_forget_pending
from orders.models import StorefrontKey
from tests.factories import ProductFactory, UserFactory, WarehouseFactory, stock
from tests.outages import OwnRedis
from webhooks.services import active_endpoints_forget


def _stop_timers():
    """An earlier test's wakes and counter sends (threading.Timer: config.celery_app.wake_on_commit,
    core.counters) must not fire into this one: a wake firing while a test runs Celery eagerly would run its
    sweep in the timer's thread, beside the test and across its flush."""
    for timer in [t for t in threading.enumerate() if isinstance(t, threading.Timer)]:
        timer.cancel()
        timer.join()
    _wake_timers.clear()
    _wakes_sent.clear()
    counters_forget_pending()


@pytest.fixture(autouse=True)
def _clear_cache():
    _stop_timers()
    cache.clear()
    # A transactional test's flush recreates the content types under new ids; the process-wide cache of
    # ContentType ids must not outlive it (stale ids fail the TransitionLog's foreign key).
    ContentType.objects.clear_cache()
    active_endpoints_forget()  # a rolled-back test's endpoints too
    yield
    _stop_timers()


@pytest.fixture(autouse=True)
def _content_types(request):
    """A transactional test starts with every content type in the database. After the browser tests
    (live_server) the flush's post_migrate recreates none (create_contenttypes finds the apps' AppConfig
    without its models_module; why is not known), so get_for_model creates them on demand, and one created
    in a transaction that rolls back (a placement refused) stays cached under an id no row has: every later
    transition log of that model fails its foreign key."""
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or {
        "transactional_db",
        "live_server",
    } & set(request.fixturenames)
    if not transactional:
        return
    request.getfixturevalue("transactional_db")
    existing = set(ContentType.objects.values_list("app_label", "model"))
    ContentType.objects.bulk_create(
        ContentType(app_label=m._meta.app_label, model=m._meta.model_name)
        for m in apps.get_models()
        if (m._meta.app_label, m._meta.model_name) not in existing
    )
    ContentType.objects.clear_cache()


@pytest.fixture
def api_user(db):
    return UserFactory(username="api:test-shop", is_staff=False)


def storefront_key(user) -> str:
    """A new API key for storefront user `user` (the key itself; only its hash is stored)."""
    return StorefrontKey.objects.create_key(client=user, name=user.username[:50])[1]


def storefront_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def token(api_user):
    return storefront_key(api_user)


@pytest.fixture
def api(token):
    return storefront_client(token)


@pytest.fixture
def warehouse(db):
    return WarehouseFactory(code="SH", priority=1)


@pytest.fixture
def product(warehouse):
    p = ProductFactory(sku="SKU-001", price="99.00", max_quantity_per_order=5)
    stock(p, warehouse, 100, reorder_point=10, location="A-01-03")
    return p


def order_body(items=None, **overrides):
    body = {
        "customer": {
            "id": "cust-42",
            "name": "张三",
            "email": "zhang.san@example.com",
            "phone": "+8613800138000",
            "address": {
                "street": "88 Century Ave",
                "city": "Shanghai",
                "province": "Shanghai",
                "postal_code": "200120",
                "country": "CN",
            },
        },
        "items": items if items is not None else [{"sku": "SKU-001", "quantity": 2, "unit_price": "99.00"}],
    }
    body.update(overrides)
    return body


@pytest.fixture
def place(api):
    counter = iter(range(10**6))

    def _place(body=None, key=None, client=None, **kwargs):
        return (client or api).post(
            "/api/v1/orders/",
            body if body is not None else order_body(**kwargs),
            format="json",
            HTTP_IDEMPOTENCY_KEY=key or f"key-{next(counter)}",
        )

    return _place


@pytest.fixture
def own_redis(settings):
    """REDIS_URL on a redis-server of the test's own (one it may kill), killed after the test."""
    server = OwnRedis().start()
    settings.REDIS_URL = server.url
    yield server
    server.kill()
