"""Fulfillment: picking lists, warehouse steps, carriers and tracking, through services, admin and API."""

import importlib
import io
import json
import threading
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from core.models import TransitionLog
from fulfillment import services
from fulfillment.models import Shipment, TrackingEvent
from fulfillment.services import order_shipping_status
from fulfillment.tasks import start_fulfillment, sweep_unfulfilled
from inventory.models import StockItem, StockMovement
from orders.models import Order
from orders.services import order_complete_delivered, order_release_review
from tests.conftest import order_body
from tests.factories import UserFactory, WarehouseFactory, stock
from tests.fulfillment.conftest import pay
from tests.orders.test_concurrency import assert_ledger_matches, run_threads
from tests.payments.conftest import deliver


def track(tracking_number, status, at):
    out = io.StringIO()
    call_command("sandbox_tracking", tracking_number, "--status", status, "--time", at.isoformat(), stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def ship_all(number, user):
    for shipment in Shipment.objects.filter(order__number=number):
        services.shipment_start_picking(shipment_id=shipment.pk, actor=user, check_permission=True)
        services.shipment_pack(shipment_id=shipment.pk, actor=user, check_permission=True)
        services.shipment_ship(shipment_id=shipment.pk, carrier="sandbox", actor=user, check_permission=True)


@pytest.mark.django_db
def test_confirmed_order_gets_one_picking_list_in_route_order_even_twice(paid):
    assert start_fulfillment(paid) == 1
    assert start_fulfillment(paid) == 1  # returns the existing shipment, creates nothing
    shipment = Shipment.objects.get()
    assert [(line.location, line.sku, line.quantity) for line in shipment.lines.all()] == [
        ("A-00-01", "CUP", 3),
        ("A-01-03", "SKU-001", 2),
    ]
    assert shipment.lines.get(sku="CUP").fragile and shipment.lines.get(sku="CUP").weight_grams == 600
    order = Order.objects.get(number=paid)
    assert order.status == "processing"
    assert TransitionLog.objects.filter(object_repr=paid, target="processing").count() == 1


@pytest.mark.django_db
def test_paid_orders_wake_one_fulfillment_sweep_instead_of_a_message_each(
    api, client, place, product, monkeypatch, django_capture_on_commit_callbacks
):
    woken = []
    celery_app = importlib.import_module("config.celery_app")  # the module, not `config.celery_app` (the app)
    monkeypatch.setattr(celery_app, "wake_on_commit", lambda task, **kwargs: woken.append((task.name, kwargs)))
    numbers = [place(order_body(allow_duplicate=True)).json()["number"] for _ in range(2)]
    with django_capture_on_commit_callbacks() as callbacks:
        for number in numbers:
            pay(api, client, number)
    assert ("fulfillment.tasks.sweep_unfulfilled", {"fresh": True}) in woken
    sent = [c.__qualname__ for c in callbacks]
    assert "enqueue_on_commit.<locals>.publish" not in sent, sent  # no message per order
    assert sweep_unfulfilled() == 0  # the beat's run leaves orders paid a moment ago to their wake
    assert sweep_unfulfilled(fresh=True) == 2  # what the woken worker runs
    for number in numbers:
        assert Order.objects.get(number=number).status == "processing"
        assert Shipment.objects.filter(order__number=number).count() == 1
        assert TransitionLog.objects.get(object_repr=number, target="processing").actor == "task:start_fulfillment"


@pytest.mark.django_db(transaction=True)
def test_the_fulfillment_sweep_passes_over_an_order_someone_holds(api, client, place, product):
    """Sweeps side by side (a wake and the beat's) skip an order another transaction has locked."""
    number = place(order_body()).json()["number"]
    pay(api, client, number)
    holder_locked, release = threading.Event(), threading.Event()

    def hold(i):
        if i == 0:
            with transaction.atomic():
                Order.objects.select_for_update().get(number=number)
                holder_locked.set()
                release.wait(10)
            return None
        holder_locked.wait(10)
        try:
            return sweep_unfulfilled(fresh=True)
        finally:
            release.set()

    results = run_threads(2, hold)
    assert results[1] == 1  # tried, not waited for
    assert not Shipment.objects.filter(order__number=number).exists()
    assert sweep_unfulfilled(fresh=True) == 1
    assert Shipment.objects.filter(order__number=number).count() == 1
    assert Order.objects.get(number=number).status == "processing"


@pytest.mark.django_db
def test_held_order_waits_for_staff(api, client, place, product):
    numbers = [place(order_body(allow_duplicate=True)).json()["number"] for _ in range(4)]
    held = numbers[3]
    pay(api, client, held)
    assert start_fulfillment(held) == 0
    assert Order.objects.get(number=held).status == "confirmed"
    order_release_review(number=held, actor="staff-test")
    assert start_fulfillment(held) == 1
    assert Order.objects.get(number=held).status == "processing"


@pytest.mark.django_db
def test_warehouse_picks_packs_and_ships_in_the_admin(client, paid):
    start_fulfillment(paid)
    shipment = Shipment.objects.get()
    user = UserFactory(username="picker", group="Warehouse")
    client.force_login(user)
    changelist = reverse("admin:fulfillment_shipment_changelist")
    client.post(changelist, {"action": "start_picking", "_selected_action": [shipment.pk]})
    client.post(changelist, {"action": "pack", "_selected_action": [shipment.pk]})
    shipment.refresh_from_db()
    assert shipment.status == "packed"
    pdf = client.get(reverse("admin:fulfillment_shipment_picking_pdf", args=[shipment.pk]))
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert paid in text and "CUP" in text
    html = client.get(reverse("admin:fulfillment_shipment_picking_list", args=[shipment.pk])).content.decode()
    assert html.index("CUP") < html.index("SKU-001")  # route order
    assert client.get(reverse("admin:fulfillment_shipment_label_pdf", args=[shipment.pk])).status_code == 404
    response = client.post(reverse("admin:fulfillment_shipment_ship", args=[shipment.pk]), {"carrier": "sandbox"})
    assert response.status_code == 302
    shipment.refresh_from_db()
    assert shipment.status == "shipped" and shipment.tracking_number.startswith("SB")
    assert shipment.tracking_url.endswith(shipment.tracking_number)
    label = client.get(reverse("admin:fulfillment_shipment_label_pdf", args=[shipment.pk]))
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(label.content)).pages)
    assert shipment.tracking_number in text and "FRAGILE" in text  # the cups
    order = Order.objects.get(number=paid)
    assert (order.status, order.shipping_status) == ("shipped", "shipped")
    steps = TransitionLog.objects.filter(
        content_type__model="shipment", object_id=str(shipment.pk), field="status"
    ).values_list("target", "user")
    assert list(steps) == [("picking", user.pk), ("packed", user.pk), ("shipped", user.pk)]


@pytest.mark.django_db
def test_customer_service_cannot_ship(client, paid):
    start_fulfillment(paid)
    shipment = Shipment.objects.get()
    client.force_login(UserFactory(username="cs", group="Customer service"))
    assert (
        client.post(
            reverse("admin:fulfillment_shipment_ship", args=[shipment.pk]),
            {"carrier": "sandbox", "tracking_number": "X1"},
        ).status_code
        == 403
    )
    client.post(
        reverse("admin:fulfillment_shipment_changelist"), {"action": "start_picking", "_selected_action": [shipment.pk]}
    )
    shipment.refresh_from_db()
    assert shipment.status == "pending"


@pytest.mark.django_db
def test_polling_stores_events_once_and_stops_when_delivered(paid, settings):
    start_fulfillment(paid)
    ship_all(paid, UserFactory(username="w", group="Warehouse"))
    shipment = Shipment.objects.get()
    t0 = shipment.shipped_at
    for hours, expected_events in ((5, 1), (5, 1), (25, 2), (49, 4), (60, 4), (200, 4)):
        with time_machine.travel(t0 + timedelta(hours=hours)):
            services.tracking_poll()
        assert TrackingEvent.objects.count() == expected_events
    shipment.refresh_from_db()
    assert (shipment.status, shipment.next_check_at, shipment.check_count) == ("delivered", None, 3)
    assert Order.objects.get(number=paid).status == "delivered"


@pytest.mark.django_db
def test_polling_gives_up_after_the_maximum_number_of_checks(paid, settings):
    settings.TRACKING_MAX_CHECKS = 2
    start_fulfillment(paid)
    user = UserFactory(username="w", group="Warehouse")
    shipment = Shipment.objects.get()
    services.shipment_start_picking(shipment_id=shipment.pk, actor=user)
    services.shipment_pack(shipment_id=shipment.pk, actor=user)
    services.shipment_ship(shipment_id=shipment.pk, carrier="sf", tracking_number="SF1234567890", actor=user)
    for day in range(1, 6):
        with time_machine.travel(timezone.now() + timedelta(days=day)):
            services.tracking_poll()
    shipment.refresh_from_db()
    assert (shipment.check_count, shipment.next_check_at) == (2, None)


@pytest.mark.django_db
def test_pushes_replayed_out_of_order_or_forged_change_nothing_twice(client, paid):
    start_fulfillment(paid)
    ship_all(paid, UserFactory(username="w", group="Warehouse"))
    shipment = Shipment.objects.get()
    t0 = shipment.shipped_at
    delivered = track(shipment.tracking_number, "delivered", t0 + timedelta(hours=30))
    moving = track(shipment.tracking_number, "in_transit", t0 + timedelta(hours=5))
    assert deliver(client, delivered).json() == {"stored": 1}
    assert deliver(client, moving).json() == {"stored": 1}  # older news arrives late: stored, not applied
    assert deliver(client, delivered).json() == {"stored": 0}
    shipment.refresh_from_db()
    assert shipment.status == "delivered"
    assert list(shipment.events.values_list("status", flat=True)) == ["in_transit", "delivered"]  # time order
    forged = track(shipment.tracking_number, "exception", t0 + timedelta(hours=40))
    forged["body"] = forged["body"].replace("exception", "delivered")
    unsigned = track(shipment.tracking_number, "exception", t0 + timedelta(hours=41))
    del unsigned["headers"]["X-Sandbox-Signature"]
    for bad in (forged, unsigned):
        response = deliver(client, bad)
        assert (response.status_code, response.json()["code"]) == (400, "invalid_signature")
    assert TrackingEvent.objects.count() == 2


@pytest.mark.django_db
def test_a_two_warehouse_order_ships_and_arrives_when_both_shipments_do(api, client, place, warehouse, product):
    gz = WarehouseFactory(code="GZ", priority=9)
    StockItem.objects.filter(product=product).update(on_hand=1)
    StockMovement.objects.create(
        stock_item=product.stock_items.get(), kind="adjustment", quantity=99, on_hand_delta=-99, actor="test"
    )
    stock(product, gz, 10, location="G-01")
    number = place(order_body(items=[{"sku": "SKU-001", "quantity": 3, "unit_price": "99.00"}])).json()["number"]
    pay(api, client, number)
    assert start_fulfillment(number) == 2
    user = UserFactory(username="w", group="Warehouse")
    first, second = Shipment.objects.order_by("warehouse__priority")
    assert [s.lines.get().quantity for s in (first, second)] == [1, 2]
    for s in (first, second):
        services.shipment_start_picking(shipment_id=s.pk, actor=user)
        services.shipment_pack(shipment_id=s.pk, actor=user)
    services.shipment_ship(shipment_id=first.pk, carrier="sandbox", actor=user)
    assert Order.objects.get(number=number).status == "processing"
    services.shipment_ship(shipment_id=second.pk, carrier="sandbox", actor=user)
    assert Order.objects.get(number=number).status == "shipped"
    for s in Shipment.objects.all():
        s.refresh_from_db()
        deliver(client, track(s.tracking_number, "delivered", timezone.now()))
        expected = "delivered" if s == Shipment.objects.order_by("warehouse__priority").last() else "shipped"
        assert Order.objects.get(number=number).status == expected
    for item in StockItem.objects.all():
        assert_ledger_matches(item)


@pytest.mark.django_db
def test_warehouse_prints_picking_lists_and_labels_for_a_selection(api, client, place, product):
    numbers = [
        place(order_body(customer={**order_body()["customer"], "id": f"c-{i}"})).json()["number"] for i in range(3)
    ]
    for number in numbers:
        pay(api, client, number)
        start_fulfillment(number)
    user = UserFactory(username="printer", group="Warehouse")
    client.force_login(user)
    changelist = reverse("admin:fulfillment_shipment_changelist")
    selected = list(Shipment.objects.values_list("pk", flat=True))

    def pages(action):
        response = client.post(changelist, {"action": action, "_selected_action": selected})
        assert response["Content-Type"] == "application/pdf"
        return [page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages]

    assert sorted(n for n in numbers for page in pages("print_picking_lists") if n in page) == sorted(numbers)
    warned = client.post(changelist, {"action": "print_labels", "_selected_action": selected}, follow=True)
    assert "has a tracking number yet" in warned.content.decode()
    ship_all(numbers[0], user)
    ship_all(numbers[1], user)
    labels = pages("print_labels")  # one page per shipped shipment, the unshipped one left out
    shipped = sorted(Shipment.objects.exclude(tracking_number="").values_list("tracking_number", flat=True))
    assert len(labels) == len(shipped) == 2
    assert sorted(t for t in shipped for page in labels if t in page) == shipped


@pytest.mark.django_db
def test_end_to_end_one_order_through_its_whole_life(api, client, place, product):
    item = product.stock_items.get()

    def check(status, payment_status, shipping_status, on_hand, reserved):
        order = Order.objects.get(number=number)
        assert (order.status, order.payment_status, order.shipping_status) == (status, payment_status, shipping_status)
        item.refresh_from_db()
        assert (item.on_hand, item.reserved) == (on_hand, reserved)
        assert_ledger_matches(item)

    number = place(order_body()).json()["number"]
    check("pending", "pending", "unfulfilled", 100, 2)
    pay(api, client, number, gateway="alipay")
    check("confirmed", "paid", "unfulfilled", 98, 0)
    start_fulfillment(number)  # what the worker runs on commit
    check("processing", "paid", "unfulfilled", 98, 0)
    ship_all(number, UserFactory(username="w", group="Warehouse"))
    check("shipped", "paid", "shipped", 98, 0)
    shipment = Shipment.objects.get()
    deliver(client, track(shipment.tracking_number, "in_transit", timezone.now()))
    check("shipped", "paid", "in_transit", 98, 0)
    deliver(client, track(shipment.tracking_number, "delivered", timezone.now() + timedelta(seconds=1)))
    check("delivered", "paid", "delivered", 98, 0)
    detail = api.get(f"/api/v1/orders/{number}/").json()
    assert detail["shipments"][0]["tracking_number"] == shipment.tracking_number
    assert detail["shipments"][0]["tracking_url"] and detail["shipments"][0]["carrier"] == "sandbox"
    assert [e["status"] for e in detail["shipments"][0]["events"]] == ["in_transit", "delivered"]
    with time_machine.travel(timezone.now() + timedelta(days=6)):
        assert order_complete_delivered() == 0
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        assert order_complete_delivered() == 1
    check("completed", "paid", "delivered", 98, 0)
    path = list(TransitionLog.objects.filter(object_repr=number, field="status").values_list("target", flat=True))
    assert path == ["pending", "confirmed", "processing", "shipped", "delivered", "completed"]


@pytest.mark.django_db
def test_attention_list_shows_exceptions_and_silent_shipments(client, paid, settings):
    start_fulfillment(paid)
    ship_all(paid, UserFactory(username="w", group="Warehouse"))
    shipment = Shipment.objects.get()
    client.force_login(UserFactory(username="cs", group="Customer service"))
    url = reverse("admin:fulfillment_shipmentattention_changelist")
    assert shipment.tracking_number not in client.get(url).content.decode()
    with time_machine.travel(timezone.now() + timedelta(hours=49)):
        assert shipment.tracking_number in client.get(url).content.decode()  # no news for two days
    deliver(client, track(shipment.tracking_number, "exception", timezone.now()))
    assert Shipment.objects.get().status == "exception"
    assert Order.objects.get(number=paid).shipping_status == "exception"
    assert shipment.tracking_number in client.get(url).content.decode()


@pytest.mark.django_db
def test_the_picking_route_sorts_bins_by_number_not_text(api, client, place, warehouse):
    from tests.factories import ProductFactory

    for sku, location in (("TEN", "A-10-01"), ("TWO", "A-2-01"), ("BEE", "B-1-01"), ("ONE", "a-1-02")):
        stock(ProductFactory(sku=sku, price="10.00"), warehouse, 10, location=location)
    items = [{"sku": s, "quantity": 1, "unit_price": "10.00"} for s in ("TEN", "TWO", "BEE", "ONE")]
    number = place(order_body(items=items)).json()["number"]
    pay(api, client, number)
    assert start_fulfillment(number) == 1
    lines = Shipment.objects.get(order__number=number).lines.all()
    assert [line.location for line in lines] == ["a-1-02", "A-2-01", "A-10-01", "B-1-01"]


@pytest.mark.parametrize(
    ("shipments", "order"),
    [
        ([], None),
        (["cancelled"], None),
        (["pending", "pending"], "unfulfilled"),
        (["pending", "picking"], "picking"),
        (["pending", "packed"], "picking"),
        (["packed", "packed", "cancelled"], "packed"),
        (["packed", "shipped"], "packed"),
        (["shipped", "delivered"], "shipped"),
        (["in_transit", "delivered"], "in_transit"),
        (["exception", "delivered"], "exception"),
        (["exception", "picking"], "picking"),
        (["delivered", "delivered", "cancelled"], "delivered"),
    ],
)
def test_the_order_is_as_far_along_as_its_least_advanced_parcel(shipments, order):
    assert order_shipping_status(shipments) == order
