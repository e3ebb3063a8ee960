import time

import pytest

from tests.conftest import order_body


@pytest.mark.django_db
def test_healthz_reports_database_broker_and_workers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok" and response.json()["broker"] == "ok"
    assert response.json()["workers"] in ("ok", "none")


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_is_down(client, monkeypatch):
    from config.celery_app import app

    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:1/0")  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"] == "down"


@pytest.mark.django_db
def test_metrics_count_orders_and_time_placements(client, place, product):
    place()
    place(order_body(allow_duplicate=True))
    text = client.get("/metrics").content.decode()
    assert 'shop_orders{status="pending"} 2.0' in text
    assert 'shop_request_seconds_count{endpoint="place_order"}' in text
    assert 'shop_queue_depth{queue="celery"}' in text and "shop_notifications_queued" in text


@pytest.mark.django_db
def test_metrics_can_require_a_scrape_token(client, settings):
    settings.METRICS_TOKEN = "scrape-secret"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"authorization": "Bearer wrong"}).status_code == 401
    response = client.get("/metrics", headers={"authorization": "Bearer scrape-secret"})
    assert response.status_code == 200 and "shop_orders" in response.content.decode()


@pytest.mark.django_db
def test_healthz_reads_the_workers_heartbeat_and_broadcasts_nothing(client, monkeypatch):
    from django.core.cache import cache

    from config.celery_app import HEARTBEAT_KEY, Heartbeat, app

    def no_broadcast(*args, **kwargs):
        raise AssertionError("/healthz must not ping the workers")

    monkeypatch.setattr(app.control, "ping", no_broadcast)
    monkeypatch.setattr(app.control, "broadcast", no_broadcast)
    cache.delete(HEARTBEAT_KEY)
    assert client.get("/healthz").json()["workers"] == "none"
    step = Heartbeat(parent=None)
    step.start(worker=None)  # what a worker starting up runs: a heartbeat at once, then every 10 s
    try:
        for _ in range(50):
            if cache.get(HEARTBEAT_KEY):
                break
            time.sleep(0.05)
        assert client.get("/healthz").json() == {"database": "ok", "broker": "ok", "workers": "ok"}
    finally:
        step.stop(worker=None)
    cache.set(HEARTBEAT_KEY, time.time() - 120)  # a worker that died two minutes ago
    assert client.get("/healthz").json()["workers"] == "none"


@pytest.mark.django_db
def test_queue_depth_is_a_number_even_for_an_empty_queue(client):
    import redis
    from django.conf import settings

    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete("celery")
    text = client.get("/metrics").content.decode()
    assert 'shop_queue_depth{queue="webhooks"} 0.0' in text and "NaN" not in text
    assert "shop_broker_up 1.0" in text
