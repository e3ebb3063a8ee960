"""Real outages, with real processes: a Redis of the test's own killed mid-run, and a worker killed with -9
mid-task. Nothing is lost, nothing is done twice, and the follow-ups finish soon after the outage ends."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db import connection
from kombu import pools

from config.celery_app import app
from fulfillment.models import Shipment
from notifications.models import Notification
from orders.models import Order
from payments.models import PaymentEvent
from tests.conftest import order_body
from tests.outages import OwnRedis, Worker, wait_until
from tests.payments.conftest import deliver, signed


@pytest.fixture
def own_redis(settings):
    """The app's cache, throttle counters and Celery broker on a Redis of this test's own."""
    redis_server = OwnRedis().start()
    settings.REDIS_URL = redis_server.url
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_server.url}
    }
    previous = app.conf.broker_url
    app.conf.broker_url = redis_server.url
    forget_connections()
    yield redis_server
    redis_server.kill()
    app.conf.broker_url = previous
    forget_connections()


def forget_connections():
    """The app's next publish connects afresh. The producer pool is dropped too: it kept the closed connection
    pool, and every later test's publish failed (quietly: enqueue_on_commit logs it)."""
    app.pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None
    pools.reset()  # kombu's registry of producer pools, which kept it too


def database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def place_and_pay(api, client, place, i: int) -> str:
    number = place(order_body(customer={**order_body()["customer"], "id": f"outage-{i}"})).json()["number"]
    payment = api.post(f"/api/v1/orders/{number}/payments/", {"gateway": "alipay"}, format="json")
    assert payment.status_code == 201, payment.content
    response = deliver(client, signed(payment.json()["reference"], "alipay"))
    assert (response.status_code, response.content) == (200, b"success")
    return number


def mails(directory: Path) -> list[str]:
    """Every e-mail the workers sent (the file backend writes each to a file)."""
    return [
        m
        for f in directory.glob("*.log")
        for m in re.findall(r"^Subject: .*$", f.read_text(errors="replace"), flags=re.MULTILINE)
    ]


def all_followed_up(numbers: list[str], mail_dir: Path) -> bool:
    orders = Order.objects.filter(number__in=numbers)
    if any(o.status != "processing" for o in orders):
        return False
    if any(Shipment.objects.filter(order=o).count() != 1 for o in orders):
        return False
    email = Notification.objects.filter(channel="email", order__number__in=numbers)
    return not email.exclude(status="sent").exists() and len(mails(mail_dir)) >= email.count()


@pytest.mark.django_db(transaction=True)
def test_storefront_and_callbacks_keep_working_without_redis_and_catch_up_within_90_s(
    api, client, place, product, own_redis, tmp_path
):
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    worker = Worker(
        database_url=database_url(),
        redis_url=own_redis.url,
        log=tmp_path / "worker.log",
        extra_env={"OUTAGE_MAIL_DIR": str(mail_dir)},
    ).start()
    try:
        before = [place_and_pay(api, client, place, i) for i in range(3)]
        wait_until(lambda: all_followed_up(before, mail_dir), timeout=90)

        own_redis.kill()  # cache, throttle and broker gone at once
        during = [place_and_pay(api, client, place, i) for i in range(3, 8)]  # 201 and `success`, never a 500
        assert api.get("/api/v1/orders/").status_code == 200
        assert Order.objects.filter(number__in=during, status="confirmed").count() == 5

        own_redis.start()  # the same port
        took = wait_until(lambda: all_followed_up(before + during, mail_dir), timeout=90)
        print(f"follow-ups done {took:.0f} s after Redis came back")
    finally:
        worker.kill()
    sent = Notification.objects.filter(channel="email", order__number__in=before + during)
    assert len(mails(mail_dir)) == sent.count()  # every e-mail exactly once


@pytest.mark.django_db(transaction=True)
def test_callbacks_answered_while_the_broker_is_down_wait_in_the_inbox_and_are_applied_once_it_is_back(
    api, client, place, product, own_redis, tmp_path, settings, monkeypatch
):
    """The deployed mode: the endpoint answers once the callback is stored, a worker applies it. A wake lost
    with the broker loses no payment: the beat's inbox run applies what the endpoint answered."""
    settings.PAYMENTS_CALLBACKS_APPLIED = "worker"
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    worker = Worker(
        database_url=database_url(),
        redis_url=own_redis.url,
        log=tmp_path / "worker.log",
        extra_env={"OUTAGE_MAIL_DIR": str(mail_dir)},
    ).start()
    try:
        before = [place_and_pay(api, client, place, i) for i in range(2)]  # answered, then woken worker applies
        wait_until(lambda: Order.objects.filter(number__in=before, status="pending").count() == 0, timeout=60)

        own_redis.kill()
        # ... and the web process dies before its wake would have been sent: only the beat is left
        monkeypatch.setattr("payments.services.wake_on_commit", lambda task: None)
        during = [place_and_pay(api, client, place, i) for i in range(2, 5)]  # `success`: stored in the inbox
        assert Order.objects.filter(number__in=during, status="pending").count() == 3

        own_redis.start()  # the same port
        wait_until(lambda: all_followed_up(before + during, mail_dir), timeout=90)
    finally:
        worker.kill()
    outcomes = PaymentEvent.objects.filter(kind="callback").values_list("outcome", flat=True)
    assert sorted(outcomes) == ["applied"] * 5


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_task_loses_nothing_and_sends_each_email_once(
    api, client, place, product, own_redis, tmp_path
):
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    env = {"OUTAGE_MAIL_DIR": str(mail_dir), "SLOW_MAIL_SECONDS": "1.5"}
    first = Worker(database_url=database_url(), redis_url=own_redis.url, log=tmp_path / "w1.log", extra_env=env).start()
    try:
        numbers = [place_and_pay(api, client, place, i) for i in range(4)]
        wait_until(lambda: any(mail_dir.glob("sending-*")), timeout=60, interval=0.05)
        first.kill()  # -9 in the middle of sending an e-mail
        assert Notification.objects.filter(channel="email", status="sending").exists()
    finally:
        first.kill()
    second = Worker(
        database_url=database_url(), redis_url=own_redis.url, log=tmp_path / "w2.log", extra_env=env
    ).start()
    try:
        wait_until(lambda: all_followed_up(numbers, mail_dir), timeout=120)
    finally:
        second.kill()
    sent = Notification.objects.filter(channel="email", order__number__in=numbers)
    assert sent.count() and len(mails(mail_dir)) == sent.count()  # each exactly once
    assert all(Shipment.objects.filter(order__number=n).count() == 1 for n in numbers)
