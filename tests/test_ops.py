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
    assert "shop_task_queue_depth" in text and "shop_notifications_queued" in text


@pytest.mark.django_db
def test_metrics_can_require_a_scrape_token(client, settings):
    settings.METRICS_TOKEN = "scrape-secret"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"authorization": "Bearer wrong"}).status_code == 401
    response = client.get("/metrics", headers={"authorization": "Bearer scrape-secret"})
    assert response.status_code == 200 and "shop_orders" in response.content.decode()
