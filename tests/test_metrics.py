"""The contract's metrics: placements counted by outcome whichever gunicorn process answered (multiprocess
mode, two real worker processes), callbacks by gateway and outcome, stage timings as orders move, stuck
orders, queue depth per queue, webhook posts and failed messages from their rows."""

import json
import threading
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from prometheus_client import REGISTRY

from orders.models import Order
from tests.conftest import order_body, storefront_key
from tests.outages import free_port, gunicorn_as_deployed, wait_until
from tests.payments.conftest import deliver, signed
from tests.test_outages import database_url


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape_value(text: str, line_start: str) -> float:
    [line] = [line for line in text.splitlines() if line.startswith(line_start + " ")]
    return float(line.rsplit(" ", 1)[1])


@pytest.mark.django_db(transaction=True)
def test_refusals_are_counted_by_code_across_two_web_processes(api_user, product, tmp_path, settings):
    key = storefront_key(api_user)
    port, metrics_dir = free_port(), tmp_path / "metrics"
    server = gunicorn_as_deployed(
        port, workers=2, database_url=database_url(), redis_url=settings.REDIS_URL, metrics_dir=metrics_dir
    )
    base = f"http://127.0.0.1:{port}"

    def get(path):
        with urllib.request.urlopen(base + path, timeout=10) as response:
            return response.read().decode()

    def place(i, body):
        request = urllib.request.Request(
            base + "/api/v1/orders/",
            json.dumps(body).encode(),
            {"Authorization": f"Token {key}", "Content-Type": "application/json", "Idempotency-Key": f"m-{i}"},
        )
        try:
            urllib.request.urlopen(request, timeout=10)
        except urllib.error.HTTPError as refused:
            return refused.code

    try:
        wait_until(lambda: _answers(get, "/healthz"), timeout=30, interval=0.3)
        # both workers loaded (each writes its metric files as it loads), or one may answer all the requests
        wait_until(lambda: len({p.stem.rsplit("_", 1)[1] for p in metrics_dir.glob("*.db")}) == 2, timeout=30)
        bad = order_body()
        unknown = order_body(items=[{"sku": "NO-SUCH-SKU", "quantity": 1, "unit_price": "1.00"}])
        bodies = [{**bad, "items": []}] * 12 + [unknown] * 6
        threads = [threading.Thread(target=place, args=(i, body)) for i, body in enumerate(bodies)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        pids = {p.name.split("_")[1] for p in metrics_dir.glob("counter_*.db")}
        assert len(pids) == 2  # both processes answered some of them
        for _ in range(4):  # whichever process answers the scrape, the counts are the same
            text = get("/metrics")
            assert scrape_value(text, 'shop_orders_placed_total{outcome="validation_error"}') == 12
            assert scrape_value(text, 'shop_orders_placed_total{outcome="unknown_product"}') == 6
    finally:
        server.terminate()
        server.wait(10)


def _answers(get, path) -> bool:
    try:
        get(path)
        return True
    except (OSError, urllib.error.HTTPError):
        return False


@pytest.mark.django_db
def test_stage_timings_move_as_an_order_moves(api, client, place, product, django_capture_on_commit_callbacks):
    stages = ("placed_to_paid", "paid_to_shipped", "shipped_to_delivered")
    before = {s: sample("shop_order_stage_seconds_count", stage=s) for s in stages}
    created = sample("shop_orders_placed_total", outcome="created")
    with django_capture_on_commit_callbacks(execute=True):
        number = place(order_body()).json()["number"]
        payment = api.post(f"/api/v1/orders/{number}/payments/", {"gateway": "stripe"}, format="json").json()
        accepted = sample("shop_payment_callbacks_total", gateway="stripe", outcome="accepted")
        deliver(client, signed(payment["reference"], "stripe"))
        forged = signed(payment["reference"], "stripe")
        forged["headers"]["Stripe-Signature"] = "t=1,v1=00"
        refused = sample("shop_payment_callbacks_total", gateway="stripe", outcome="refused")
        deliver(client, forged)
    assert sample("shop_orders_placed_total", outcome="created") == created + 1
    assert sample("shop_payment_callbacks_total", gateway="stripe", outcome="accepted") == accepted + 1
    assert sample("shop_payment_callbacks_total", gateway="stripe", outcome="refused") == refused + 1
    assert sample("shop_order_stage_seconds_count", stage="placed_to_paid") == before["placed_to_paid"] + 1
    assert sample("shop_order_stage_seconds_count", stage="paid_to_shipped") == before["paid_to_shipped"]
    with django_capture_on_commit_callbacks(execute=True):
        call_command("sandbox_fulfil", number, "--until", "delivered", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert sample("shop_order_stage_seconds_count", stage="paid_to_shipped") == before["paid_to_shipped"] + 1
    assert sample("shop_order_stage_seconds_count", stage="shipped_to_delivered") == before["shipped_to_delivered"] + 1


@pytest.mark.django_db
def test_stuck_orders_and_queues_are_on_metrics(api, client, place, product, settings):
    number = place(order_body()).json()["number"]
    api.post(f"/api/v1/orders/{number}/payments/", {"gateway": "alipay"}, format="json")
    text = client.get("/metrics").content.decode()
    assert scrape_value(text, 'shop_orders_stuck{kind="payment_unconfirmed"}') == 0
    for queue in ("callbacks", "fulfillment", "notifications", "webhooks", "tracking", "sweeps"):
        assert f'shop_queue_depth{{queue="{queue}"}}' in text
    assert 'shop_webhook_deliveries_total{outcome="failed"}' in text and "shop_notifications_failed_total" in text

    settings.PAYMENTS_QUERY_AFTER_MINUTES = 0
    later = timezone.now() + timedelta(minutes=1)
    from payments.models import Payment

    Payment.objects.filter(order__number=number).update(created_at=later - timedelta(minutes=5))
    other = place(order_body(customer={**order_body()["customer"], "id": "c-paid"})).json()["number"]
    payment = api.post(f"/api/v1/orders/{other}/payments/", {"gateway": "stripe"}, format="json").json()
    deliver(client, signed(payment["reference"], "stripe"))
    Order.objects.filter(number=other).update(updated_at=timezone.now() - timedelta(hours=settings.PICK_SLA_HOURS + 1))
    text = client.get("/metrics").content.decode()
    assert scrape_value(text, 'shop_orders_stuck{kind="payment_unconfirmed"}') == 1
    assert scrape_value(text, 'shop_orders_stuck{kind="not_picked"}') == 1
