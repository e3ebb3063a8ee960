"""Outgoing webhooks to a receiver on a real local server: signed per Standard Webhooks (checked with its own
verifier), in order per order, retried with the same webhook-id, never for a change that rolled back, never in
the way of a placement, and nothing lost when the worker dies mid-delivery."""

import io
import threading
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.models import TransitionLog
from notifications.models import Notification
from orders import services as order_services
from tests.conftest import order_body
from tests.fulfillment.test_sandbox_fulfil import fulfil, paid_order
from tests.local_server import serving
from tests.outages import Worker, wait_until
from tests.payments.conftest import deliver, signed
from tests.payments.test_inbox import drain
from tests.test_outages import database_url, own_redis, place_and_pay  # noqa: F401  (own_redis: a Redis of its own)
from tests.webhooks.receiver import Receiver
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.services import RETRY_SCHEDULE, active_endpoints, webhook_deliver, webhook_sweep


def add_endpoint(url: str, *events: str) -> tuple[WebhookEndpoint, str]:
    out = io.StringIO()
    call_command("webhook_endpoint_add", url, *(["--events", ",".join(events)] if events else []), stdout=out)
    secret = out.getvalue().strip().splitlines()[-1]
    return WebhookEndpoint.objects.get(secret=secret), secret


@pytest.fixture
def receiver():
    r = Receiver()
    with serving(r.respond) as url:
        r.url = url + "/hooks"
        yield r
    if r.hang is not None:
        r.hang.set()


@pytest.mark.django_db
def test_an_orders_life_arrives_signed_and_in_order(api, client, place, product, receiver, settings):
    endpoint, secret = add_endpoint(receiver.url)
    assert secret.startswith("whsec_") and endpoint.events == []
    number = paid_order(api, client, place)
    fulfil(number, "--until", "delivered")
    webhook_sweep()  # what the on-commit tasks would send (this test's transaction never commits)

    received = receiver.verified(secret)  # every signature verifies with the receiver's verifier
    types = [r["type"] for r in received]
    assert types[:2] == ["order.placed", "order.paid"] and types[-1] == "order.delivered"
    assert "order.shipped" in types and "shipment.updated" in types
    assert types.index("order.shipped") < types.index("order.delivered")
    ids = [r["id"] for r in received]
    events = WebhookEvent.objects.filter(order__number=number).order_by("id")
    assert ids == [e.message_id for e in events]  # in the order they happened, each once
    placed, delivered = received[0]["data"]["order"], received[-1]["data"]["order"]
    assert placed["number"] == number and placed["status"] == "pending"
    assert delivered["status"] == "delivered" and set(delivered) == set(api.get(f"/api/v1/orders/{number}/").json())
    assert all(int(r["headers"]["webhook-timestamp"]) > 0 for r in receiver.requests)


@pytest.mark.django_db
def test_an_endpoint_gets_only_the_events_it_asked_for(api, client, place, product, receiver):
    _, secret = add_endpoint(receiver.url, "order.paid")
    paid_order(api, client, place)
    webhook_sweep()
    assert [r["type"] for r in receiver.verified(secret)] == ["order.paid"]


@pytest.mark.django_db
def test_order_paid_shows_the_payment_that_paid_it(api, client, place, product, receiver):
    """The event renders the order from the database as the apply left it, its payment included."""
    _, secret = add_endpoint(receiver.url, "order.paid")
    number = paid_order(api, client, place)
    webhook_sweep()
    (sent,) = receiver.verified(secret)
    order = sent["data"]["order"]
    assert (order["number"], order["status"], order["payment_status"]) == (number, "confirmed", "paid")
    assert [(p["status"], p["paid_at"] is not None) for p in order["payments"]] == [("paid", True)]


def statements(action) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        action()
    return [q["sql"] for q in captured.captured_queries]


@pytest.mark.django_db
def test_an_endpoint_costs_a_placement_one_statement_and_a_payment_one_read_and_one_insert(
    api, client, place, product, receiver
):
    """The new order's body is the 201's JSON, rendered from the rows the placement wrote; the paid order is read
    back in one round trip (the ORM's read was five statements, each compiled anew); the event and its
    deliveries are one INSERT (they were two)."""

    def customer(i):
        return order_body(customer={**order_body()["customer"], "id": f"wh-{i}"})

    def pay(number):
        reference = api.post(f"/api/v1/orders/{number}/payments/", {"gateway": "stripe"}, format="json").json()
        return statements(lambda: (deliver(client, signed(reference["reference"], "stripe")), drain()))

    plain = place(customer(0)).json()["number"]
    placing_without = statements(lambda: place(customer(1)))
    paying_without = pay(plain)
    _, secret = add_endpoint(receiver.url)
    active_endpoints()  # read once per WEBHOOK_ENDPOINTS_CACHE_SECONDS, not per event
    response = {}
    placing_with = statements(lambda: response.update(placed=place(customer(2))))
    paying_with = pay(response["placed"].json()["number"])

    added = [sql for sql in placing_with if "webhooks_" in sql]
    assert len(placing_with) == len(placing_without) + 1 and len(added) == 1, placing_with
    assert added[0].startswith("WITH e AS (INSERT INTO webhooks_webhookevent ") and "webhookdelivery" in added[0]
    read_once = [s for s in paying_with if "django_content_type" not in s]  # read once per process
    # the order, its coupon, items and payments in one round trip (a pipeline), then the event with its delivery
    assert len(read_once) == len([s for s in paying_without if "django_content_type" not in s]) + 5, paying_with
    assert len([s for s in paying_with if "webhooks_webhook" in s]) == 1
    webhook_sweep()
    placed, paid = receiver.verified(secret)
    assert placed["data"]["order"] == response["placed"].json()
    assert paid["data"]["order"]["payment_status"] == "paid"


@pytest.mark.django_db
def test_a_500_then_a_200_gets_the_same_webhook_id_twice_on_the_schedule(place, product, receiver):
    endpoint, secret = add_endpoint(receiver.url, "order.placed")
    receiver.answers = [500]
    place(order_body())
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)

    assert webhook_deliver(delivery_id=delivery.pk) == "pending"
    delivery.refresh_from_db()
    [first] = WebhookAttempt.objects.filter(delivery=delivery)
    assert first.response_status == 500 and '"ok": false' in first.response_excerpt
    assert delivery.next_attempt_at - first.attempted_at == RETRY_SCHEDULE[0]
    assert webhook_sweep() == 0  # not due yet

    assert webhook_sweep(now=timezone.now() + timedelta(seconds=6)) == 1
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.attempts == 2
    a, b = receiver.verified(secret)
    assert a["id"] == b["id"] == delivery.event.message_id and a["data"] == b["data"]


@pytest.mark.django_db
def test_the_schedule_runs_out_then_staff_redeliver(place, product, receiver, settings):
    endpoint, secret = add_endpoint(receiver.url, "order.placed")
    receiver.answers = [503] * (len(RETRY_SCHEDULE) + 1)
    place(order_body())
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    waits = []
    for _ in range(len(RETRY_SCHEDULE) + 1):
        webhook_deliver(delivery_id=delivery.pk, now=timezone.now() + timedelta(days=30))
        delivery.refresh_from_db()
        waits.append(delivery.next_attempt_at - delivery.last_attempt_at)
    assert waits[:-1] == RETRY_SCHEDULE and delivery.status == "failed" and delivery.attempts == 8
    assert TransitionLog.objects.filter(object_id=delivery.pk, target="failed", actor="task:webhooks").exists()

    from tests.factories import UserFactory
    from webhooks.services import webhook_redeliver

    finance = UserFactory(username="fin", group="Finance")
    webhook_redeliver(delivery=delivery, user=finance)
    assert webhook_deliver(delivery_id=delivery.pk) == "succeeded"
    assert len({r["id"] for r in receiver.verified(secret)}) == 1 and len(receiver.requests) == 9


@pytest.mark.django_db
def test_a_change_that_rolled_back_sends_nothing(place, product, receiver):
    _, secret = add_endpoint(receiver.url)
    number = place(order_body()).json()["number"]
    with pytest.raises(RuntimeError), transaction.atomic():
        order_services.order_cancel(number=number, actor="test")
        assert WebhookEvent.objects.filter(type="order.cancelled").exists()  # recorded with the change…
        raise RuntimeError("the change fails after the event")
    assert not WebhookEvent.objects.filter(type="order.cancelled").exists()  # …and gone with it
    webhook_sweep()
    assert [r["type"] for r in receiver.verified(secret)] == ["order.placed"]


@pytest.mark.django_db
def test_events_wait_for_the_earlier_event_of_the_same_order(api, client, place, product, receiver):
    _, secret = add_endpoint(receiver.url)
    receiver.answers = [500]  # order.placed fails once
    number = paid_order(api, client, place)
    placed, paid = WebhookDelivery.objects.filter(order__number=number).order_by("event_id")[:2]
    assert webhook_deliver(delivery_id=placed.pk) == "pending"
    assert webhook_deliver(delivery_id=paid.pk) == "waiting"  # not before order.placed got through
    webhook_sweep(now=timezone.now() + timedelta(seconds=6))
    types = [r["type"] for r in receiver.verified(secret)]
    assert types == ["order.placed", "order.placed", "order.paid"]


@pytest.mark.django_db
def test_an_endpoint_failing_for_five_days_is_disabled_and_staff_are_told(place, product, receiver, settings):
    endpoint, _ = add_endpoint(receiver.url, "order.placed")
    receiver.answers = [500, 500]
    place(order_body())
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    webhook_deliver(delivery_id=delivery.pk)
    endpoint.refresh_from_db()
    assert endpoint.status == "active" and endpoint.failing_since is not None
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now() - timedelta(days=5, minutes=1))

    webhook_deliver(delivery_id=delivery.pk, now=timezone.now() + timedelta(seconds=6))

    endpoint.refresh_from_db()
    assert endpoint.status == "disabled"
    alert = Notification.objects.get(event="webhook_disabled")
    assert alert.recipient in settings.STAFF_NOTIFY["webhook_disabled"] and alert.context["url"] == receiver.url
    assert webhook_sweep(now=timezone.now() + timedelta(days=1)) == 0 and len(receiver.requests) == 2


@pytest.mark.django_db
def test_webhook_endpoint_add_refuses_what_it_cannot_use(db):
    with pytest.raises(CommandError, match=r"order\.teleported"):
        call_command("webhook_endpoint_add", "https://erp.example.com/hooks", "--events", "order.paid,order.teleported")
    with pytest.raises(CommandError, match="url"):
        call_command("webhook_endpoint_add", "not a url")
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_receiver_that_never_answers_delays_no_placement(api, client, place, product, receiver, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 2
    add_endpoint(receiver.url, "order.placed", "order.paid")
    receiver.hang = threading.Event()  # holds every request open, past our timeout
    first = place(order_body()).json()["number"]
    delivery_id = WebhookDelivery.objects.get(order__number=first).pk

    def send():  # as a worker would, on its own connection
        try:
            webhook_deliver(delivery_id=delivery_id)
        finally:
            connection.close()

    sender = threading.Thread(target=send)
    sender.start()
    assert receiver.arrived.wait(10)  # a worker is stuck on the dead receiver, its delivery row locked…

    numbers = [place_and_pay(api, client, place, i) for i in range(2)]  # …while placements and callbacks go on

    assert sender.is_alive()  # these all completed while the delivery was still waiting for an answer
    assert all(n and WebhookEvent.objects.filter(order__number=n, type="order.paid").exists() for n in numbers)
    sender.join(15)
    attempt = WebhookAttempt.objects.get(delivery__order__number=first)
    assert attempt.response_status is None and "no answer within 2" in attempt.error
    receiver.hang.set()


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_delivery_loses_nothing(api, place, product, receiver, own_redis, tmp_path):  # noqa: F811
    _, secret = add_endpoint(receiver.url, "order.placed")
    receiver.hang = threading.Event()
    (tmp_path / "mail").mkdir()
    env = {"OUTAGE_MAIL_DIR": str(tmp_path / "mail")}
    worker = Worker(database_url=database_url(), redis_url=own_redis.url, log=tmp_path / "w1.log", extra_env=env)
    worker.start()
    try:
        number = place(order_body()).json()["number"]
        assert receiver.arrived.wait(60)  # the worker is posting…
        worker.kill()  # …and dies (-9) before the receiver answers
    finally:
        worker.kill()
    delivery = WebhookDelivery.objects.get(order__number=number)
    assert delivery.status == "pending" and not delivery.attempt_rows.exists()  # not lost, not marked sent
    receiver.hang.set()  # the receiver is answering again
    second = Worker(database_url=database_url(), redis_url=own_redis.url, log=tmp_path / "w2.log", extra_env=env)
    second.start()
    try:
        wait_until(lambda: WebhookDelivery.objects.filter(pk=delivery.pk, status="succeeded").exists(), timeout=60)
    finally:
        second.kill()
    ids = [r["id"] for r in receiver.verified(secret)]
    assert len(ids) == 2 and ids[0] == ids[1] == delivery.event.message_id  # the same event, sent again
