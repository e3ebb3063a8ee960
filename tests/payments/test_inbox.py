"""Callbacks answered from the inbox (PAYMENTS_CALLBACKS_APPLIED = "worker", the deployed default): the
endpoint checks and stores, a worker applies each exactly once, in the order they arrived per payment."""

import threading
from contextlib import contextmanager

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from core.claims import claimed
from core.models import TransitionLog
from inventory.models import StockItem, StockMovement
from orders.models import Order
from payments import services
from payments.gateways import get_gateway
from payments.models import Payment, PaymentEvent
from payments.selectors import inbox_events_locked
from payments.services import INBOX, payments_inbox_batch
from tests.conftest import order_body
from tests.orders.test_concurrency import assert_ledger_matches, run_threads
from tests.payments.conftest import deliver, signed


@pytest.fixture(autouse=True)
def worker_mode(settings):
    settings.PAYMENTS_CALLBACKS_APPLIED = "worker"


def drain() -> int:
    """What the apply_payment_inbox task runs, batch after batch, until the inbox is empty."""
    total = 0
    while handled := payments_inbox_batch(50):
        total += handled
    return total


def state(number):
    order = Order.objects.get(number=number)
    return order.status, order.payment_status, Payment.objects.get(order=order).status


@pytest.mark.django_db
@pytest.mark.parametrize("gateway", ["alipay", "wechatpay", "stripe", "paypal"])
def test_a_callback_is_answered_once_stored_and_applied_once_by_the_worker(client, order, start, gateway):
    payment = start(order["number"], gateway)
    request = signed(payment["reference"], gateway)
    response = deliver(client, request)
    assert 200 <= response.status_code < 300, response.content
    assert state(order["number"]) == ("pending", "pending", "pending")  # answered, not yet applied
    queued = PaymentEvent.objects.filter(INBOX).get()
    assert (queued.payment.reference, queued.signature_valid, queued.event_type != "") == (
        payment["reference"],
        True,
        True,
    )

    with transaction.atomic():
        assert inbox_events_locked([queued.pk, queued.pk + 1000]) == {queued.pk}  # the apply's re-check
    assert drain() == 1
    with transaction.atomic():
        assert inbox_events_locked([queued.pk]) == set()  # applied: out of the inbox
    assert state(order["number"]) == ("confirmed", "paid", "paid")
    assert StockItem.objects.values_list("on_hand", "reserved").get() == (98, 0)
    assert PaymentEvent.objects.get(pk=queued.pk).outcome == "applied"
    assert drain() == 0

    assert 200 <= deliver(client, request).status_code < 300  # the gateway resends: queued, then a no-op
    drain()
    assert list(PaymentEvent.objects.filter(kind="callback").order_by("id").values_list("outcome", flat=True)) == [
        "applied",
        "duplicate",
    ]
    assert TransitionLog.objects.filter(object_repr=order["number"], target="confirmed").count() == 1
    assert StockMovement.objects.filter(kind="commit").count() == 1
    log = TransitionLog.objects.get(object_repr=payment["reference"], target="paid")
    assert log.actor == f"gateway:{gateway}"


@pytest.mark.django_db
@pytest.mark.parametrize("gateway", ["alipay", "stripe"])
def test_the_answer_reads_the_payment_and_writes_the_event_once(client, order, start, gateway):
    payment = start(order["number"], gateway)
    request = signed(payment["reference"], gateway)
    with CaptureQueriesContext(connection) as captured:
        assert 200 <= deliver(client, request).status_code < 300
    sqls = [q["sql"] for q in captured.captured_queries]
    assert [sql.split()[0] for sql in sqls] == ["SELECT", "INSERT"], sqls
    assert PaymentEvent.objects.filter(INBOX, payment__reference=payment["reference"]).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("gateway", ["stripe", "paypal"])
def test_a_bug_reading_a_callback_still_keeps_it_and_answers_500_for_a_resend(order, start, gateway, monkeypatch):
    payment = start(order["number"], gateway)
    request = signed(payment["reference"], gateway)

    def broken(self, **kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr(type(get_gateway(gateway)), "parse_callback", broken)
    assert deliver(Client(raise_request_exception=False), request).status_code == 500
    event = PaymentEvent.objects.get(direction="in", reference="")
    assert (event.body, event.outcome, event.error) == (request["body"], "rejected", "could not be read")
    assert state(order["number"]) == ("pending", "pending", "pending")


@pytest.mark.django_db
def test_forged_and_mismatched_callbacks_are_refused_at_the_door_and_never_queued(client, order, start):
    payment = start(order["number"], "stripe")
    genuine = signed(payment["reference"], "stripe")
    forged = {**genuine, "body": genuine["body"].replace('"amount": ', '"amount": 1')}
    assert forged["body"] != genuine["body"]
    assert deliver(client, forged).status_code == 400
    assert deliver(client, signed(payment["reference"], "stripe", amount="0.01")).status_code == 400
    assert deliver(client, signed("P-NO-SUCH", "stripe", amount="1.00")).status_code == 400
    assert not PaymentEvent.objects.filter(INBOX).exists()
    assert drain() == 0
    assert state(order["number"]) == ("pending", "pending", "pending")
    assert "Amount mismatch" in Payment.objects.get(reference=payment["reference"]).attention  # flagged at once
    assert list(PaymentEvent.objects.filter(kind="callback").order_by("id").values_list("outcome", flat=True)) == [
        "rejected",  # forged
        "flagged",  # the amount disagrees
        "rejected",  # no such payment
    ]


@pytest.mark.django_db
def test_a_payments_callbacks_are_applied_in_the_order_they_arrived(client, order, start):
    """A success then a failure: in that order the failure changes nothing; the other way round the payment
    would fail first (and the success arrive as a late payment)."""
    payment = start(order["number"], "stripe")
    assert deliver(client, signed(payment["reference"], "stripe", outcome="success")).status_code == 200
    assert deliver(client, signed(payment["reference"], "stripe", outcome="failure")).status_code == 200
    assert PaymentEvent.objects.filter(INBOX).count() == 2
    drain()
    events = PaymentEvent.objects.filter(kind="callback").order_by("id")
    assert [(e.event_type, e.outcome) for e in events] == [
        ("payment_intent.succeeded", "applied"),
        ("payment_intent.payment_failed", "duplicate"),
    ]
    assert state(order["number"]) == ("confirmed", "paid", "paid")
    assert not TransitionLog.objects.filter(object_repr=payment["reference"], target="failed").exists()


def batch_while_held(holder) -> tuple:
    """`payments_inbox_batch(50)` run while another thread is inside the block of `holder()`, a context manager:
    (what that block was given, what the batch returned)."""
    inside, release = threading.Event(), threading.Event()

    def run(i):
        if i == 0:
            with holder() as held:
                inside.set()
                release.wait(10)
            return held
        assert inside.wait(10), "the holder never got inside its block"
        try:
            return payments_inbox_batch(50)
        finally:
            release.set()

    held, result = run_threads(2, run)
    assert not isinstance(held, Exception), held
    return held, result


@contextmanager
def order_held(number: str):
    with transaction.atomic():
        yield Order.objects.select_for_update().get(number=number)


@pytest.mark.django_db(transaction=True)  # the holder's thread reads the order: it must be committed
def test_a_callback_for_an_order_someone_holds_waits_in_the_inbox(client, order, start):
    """The worker skips an order another transaction has locked (SKIP LOCKED) instead of waiting on it."""
    payment = start(order["number"], "stripe")
    assert deliver(client, signed(payment["reference"], "stripe")).status_code == 200
    _order, taken = batch_while_held(lambda: order_held(order["number"]))
    assert taken == 0
    assert PaymentEvent.objects.filter(INBOX).count() == 1
    assert drain() == 1
    assert state(order["number"]) == ("confirmed", "paid", "paid")


@pytest.mark.django_db(transaction=True)
def test_workers_side_by_side_apply_each_callback_exactly_once(place, product, start):
    client = Client()
    references = []
    for i in range(12):
        number = place(order_body(customer={**order_body()["customer"], "id": f"inbox-{i}"})).json()["number"]
        references.append(start(number, "alipay")["reference"])
    for reference in references:
        request = signed(reference, "alipay")
        for _ in range(2):  # each delivered twice, as gateways do
            assert deliver(client, request).content == b"success"
    assert PaymentEvent.objects.filter(INBOX).count() == 24

    def worker(i):
        total = 0
        while handled := payments_inbox_batch(3):
            total += handled
        return total

    results = run_threads(3, worker)
    assert not [r for r in results if isinstance(r, Exception)], results
    drain()  # whatever a worker skipped while another held its order
    assert not PaymentEvent.objects.filter(INBOX).exists()
    outcomes = list(PaymentEvent.objects.filter(kind="callback").values_list("outcome", flat=True))
    assert sorted(outcomes) == ["applied"] * 12 + ["duplicate"] * 12
    assert TransitionLog.objects.filter(target="paid", field="status", transition="mark_paid").count() == 12
    assert set(Payment.objects.values_list("status", flat=True)) == {"paid"}
    assert StockMovement.objects.filter(kind="commit").count() == 12
    assert_ledger_matches(StockItem.objects.get())


def queue_paid_callbacks(place, start, count: int, sent: int = 1) -> list[int]:
    """`count` orders with a payment and its success callback in the inbox (`sent` times); their payments' ids."""
    ids = []
    for i in range(count):
        number = place(order_body(customer={**order_body()["customer"], "id": f"claim-{i}"})).json()["number"]
        reference = start(number, "stripe")["reference"]
        for _ in range(sent):
            assert deliver(Client(), signed(reference, "stripe")).status_code == 200
        ids.append(Payment.objects.get(reference=reference).pk)
    return ids


@pytest.mark.django_db(transaction=True)
def test_runs_side_by_side_take_different_payments(place, product, start, monkeypatch):
    """Two runs reading the same oldest payments at once: each applies payments the other did not claim, so
    none is parsed and locked twice (before the claim, both went through the same ones). Each callback came three
    times: the second run still finds a whole batch among the oldest callbacks."""
    ids = queue_paid_callbacks(place, start, 6, sent=3)
    both_started = threading.Barrier(2, timeout=10)
    applied = services.payment_inbox_apply
    seen = {0: [], 1: []}

    def apply_payment(*, payment_id, **kwargs):
        mine = seen[int(threading.current_thread().name)]
        mine.append(payment_id)
        if len(mine) == 1:
            both_started.wait()  # each run has claimed its batch and holds it
        return applied(payment_id=payment_id, **kwargs)

    monkeypatch.setattr(services, "payment_inbox_apply", apply_payment)

    def run(i):
        threading.current_thread().name = str(i)
        return payments_inbox_batch(3)

    assert run_threads(2, run) == [3, 3]
    assert not set(seen[0]) & set(seen[1])
    assert sorted(seen[0] + seen[1]) == sorted(ids)
    assert set(Payment.objects.values_list("status", flat=True)) == {"paid"}
    assert not PaymentEvent.objects.filter(INBOX).exists()


@pytest.mark.django_db(transaction=True)
def test_payments_another_run_has_claimed_wait_for_it_and_are_taken_once_it_lets_go(place, product, start):
    ids = queue_paid_callbacks(place, start, 2)
    held, taken = batch_while_held(lambda: claimed("payment-inbox", ids, 1))
    assert held == ids[:1] and taken == 1  # the other payment only
    assert Payment.objects.get(pk=ids[0]).status == "pending"
    assert drain() == 1  # let go: the next run takes it
    assert Payment.objects.get(pk=ids[0]).status == "paid"


@pytest.mark.django_db
def test_a_paypal_approval_is_captured_by_the_worker_not_the_endpoint(api, client, order, platforms, settings):
    from tests.payments.test_live_gateways import start as start_live

    payment, _body = start_live(api, order["number"], "paypal")
    headers, webhook = platforms.paypal_approval_webhook(payment.reference, settings.PAYPAL_WEBHOOK_ID)
    content_type = headers.pop("Content-Type")
    for _ in range(2):  # PayPal resends the approval
        response = client.post(
            "/api/v1/payments/callbacks/paypal/", webhook, content_type=content_type, headers=headers
        )
        assert response.status_code == 200, response.content
    assert not [k for k in platforms.paypal_request_ids if k.startswith("capture-")]  # nothing captured yet
    payment.refresh_from_db()
    assert payment.status == "pending"

    drain()
    payment.refresh_from_db()
    trade = platforms.trades[("paypal", payment.reference)]
    assert (payment.status, payment.gateway_txn_id) == ("paid", trade["capture_id"])
    assert len([k for k in platforms.paypal_request_ids if k.startswith("capture-")]) == 1
    events = PaymentEvent.objects.filter(kind="callback").order_by("id")
    assert [(e.outcome, e.gateway_txn_id) for e in events] == [
        ("applied", trade["capture_id"]),
        ("duplicate", events[1].gateway_txn_id),
    ]


@pytest.mark.django_db
def test_a_capture_paypal_refuses_leaves_the_payment_to_the_stale_query(api, client, order, platforms, settings):
    from tests.payments.test_live_gateways import start as start_live

    payment, _body = start_live(api, order["number"], "paypal")
    headers, webhook = platforms.paypal_approval_webhook(payment.reference, settings.PAYPAL_WEBHOOK_ID)
    platforms.trades[("paypal", payment.reference)]["state"] = "pending"  # PayPal will not capture it
    content_type = headers.pop("Content-Type")
    response = client.post("/api/v1/payments/callbacks/paypal/", webhook, content_type=content_type, headers=headers)
    assert response.status_code == 200
    assert drain() == 1
    event = PaymentEvent.objects.get(kind="callback")
    assert (event.outcome, event.signature_valid) == ("error", True)
    assert "ORDER_NOT_APPROVED" in event.error, event.error
    payment.refresh_from_db()
    assert payment.status == "pending" and Order.objects.get(number=order["number"]).status == "pending"


@pytest.mark.django_db
def test_the_order_health_page_warns_of_callbacks_answered_and_not_applied_for_a_minute(client, order, start):
    from datetime import timedelta

    from django.urls import reverse
    from django.utils import timezone

    from tests.factories import UserFactory

    payment = start(order["number"], "stripe")
    assert deliver(Client(), signed(payment["reference"], "stripe")).status_code == 200
    client.force_login(UserFactory(group="Finance"))
    page = client.get(reverse("order-health") + "?range=day").content.decode()
    assert "answered but are not applied" not in page  # just queued: the worker has a minute
    PaymentEvent.objects.filter(INBOX).update(received_at=timezone.now() - timedelta(minutes=2))
    page = client.get(reverse("order-health") + "?range=day").content.decode()
    assert "1 gateway callbacks were answered but are not applied yet" in page
    drain()
    assert "answered but are not applied" not in client.get(reverse("order-health") + "?range=day").content.decode()


@pytest.mark.django_db
def test_a_callback_that_cannot_be_applied_is_set_aside_and_the_others_go_on(place, product, start, monkeypatch):
    from payments.services import payment_replay_event
    from tests.factories import UserFactory

    numbers = [place(order_body(customer={**order_body()["customer"], "id": f"p{i}"})).json()["number"] for i in (1, 2)]
    payments = [start(number, "stripe") for number in numbers]
    for payment in payments:
        assert deliver(Client(), signed(payment["reference"], "stripe")).status_code == 200
    confirm = services.order_confirm_payment

    def broken_for_the_first(*, order, **kwargs):
        if order.number == numbers[0]:
            raise ValueError("a bug")
        return confirm(order=order, **kwargs)

    monkeypatch.setattr(services, "order_confirm_payment", broken_for_the_first)
    drain()
    first, second = (PaymentEvent.objects.get(reference=p["reference"], kind="callback") for p in payments)
    assert (first.outcome, first.error) == ("error", "ValueError: a bug")
    assert second.outcome == "applied" and state(numbers[1]) == ("confirmed", "paid", "paid")
    assert state(numbers[0]) == ("pending", "pending", "pending")  # the failed apply left nothing behind

    monkeypatch.setattr(services, "order_confirm_payment", confirm)
    result = payment_replay_event(event=first, user=UserFactory(group="Finance"))  # finance, once it is fixed
    assert result.accepted and state(numbers[0]) == ("confirmed", "paid", "paid")


@pytest.mark.django_db
def test_a_batch_reads_its_payments_callbacks_in_one_statement(place, product, start):
    numbers = [
        place(order_body(customer={**order_body()["customer"], "id": f"b{i}"})).json()["number"] for i in range(3)
    ]
    for number in numbers:
        reference = start(number, "stripe")["reference"]
        for _ in range(2):  # a resend: two callbacks of the payment, applied in order
            assert deliver(Client(), signed(reference, "stripe")).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        assert payments_inbox_batch(50) == 3
    events = 'SELECT "payments_paymentevent"'
    reads = [sql for q in captured.captured_queries if (sql := q["sql"]).startswith(events) and "FOR UPDATE" not in sql]
    assert len(reads) == 2, reads  # which payments, then their callbacks (each payment re-checks its own locked)
    assert [state(number) for number in numbers] == [("confirmed", "paid", "paid")] * 3
    outcomes = PaymentEvent.objects.filter(kind="callback").order_by("id").values_list("outcome", flat=True)
    assert list(outcomes) == ["applied", "duplicate"] * 3


@pytest.mark.django_db
def test_an_apply_takes_its_three_locks_in_one_statement(client, order, start):
    """Order, payment and the callbacks still queued: one round trip (PostgreSQL), the order's lock first."""
    payment = start(order["number"], "stripe")
    assert deliver(client, signed(payment["reference"], "stripe")).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        assert payments_inbox_batch(50) == 1
    tables = ('FROM "orders_order"', 'FROM "payments_payment"', 'FROM "payments_paymentevent"')
    locks = [
        sql for q in captured.captured_queries if "FOR UPDATE" in (sql := q["sql"]) and any(t in sql for t in tables)
    ]
    assert len(locks) == 1, locks
    assert locks[0].index('"orders_order"') < locks[0].index('"payments_payment"') < locks[0].index("paymentevent")
    assert state(order["number"]) == ("confirmed", "paid", "paid")


@pytest.mark.django_db
def test_an_apply_writes_its_rows_in_two_statements(client, order, start):
    """The payment, order and log rows before the order's event (its handlers read them), the callback's and
    the messages' at the end: two statements where each row was one (PostgreSQL)."""
    payment = start(order["number"], "stripe")
    assert deliver(client, signed(payment["reference"], "stripe")).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        assert payments_inbox_batch(50) == 1
    writes = [q["sql"] for q in captured.captured_queries if q["sql"].startswith(("INSERT", "UPDATE", "WITH w0"))]
    assert [sql[:7] for sql in writes] == ["WITH w0", "WITH w0"], writes
    first, second = writes
    assert '"payments_payment"' in first and '"orders_order"' in first and '"orders_transitionlog"' in first
    assert '"payments_paymentevent"' in second and '"notifications_notification"' in second
    assert state(order["number"]) == ("confirmed", "paid", "paid")
    assert TransitionLog.objects.filter(object_id=str(Order.objects.get(number=order["number"]).pk)).count() >= 3
