"""Each staff group's daily tasks in a real browser (Playwright driving Debian's Chromium against the live
server on PostgreSQL), in English and in Chinese; the database is checked after each. Screenshots of every
step go to var/screenshots/."""

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse

from core.models import TransitionLog
from fulfillment.models import Shipment
from fulfillment.tasks import start_fulfillment
from orders.models import Order
from payments.models import Payment, Refund
from tests.conftest import order_body
from tests.factories import UserFactory
from tests.payments.conftest import deliver, signed

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"
LANGUAGES = {"en": "en-GB", "zh-hans": "zh-CN"}

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium (apt-get install chromium)"),
]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the ORM calls of the test are still plain
    # synchronous calls, so Django's async guard is lifted for this module only.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield browser
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture(params=list(LANGUAGES))
def language(request):
    return request.param


@pytest.fixture
def staff_page(browser, live_server, language):
    """A logged-in page for a staff member of `group`, in the browser's language; shot(name) saves a screenshot."""
    contexts = []

    def open_as(group: str, flow: str):
        user = UserFactory(username=f"{group.split()[0].lower()}-{language}", group=group)
        context = browser.new_context(locale=LANGUAGES[language], viewport={"width": 1366, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(live_server.url + reverse("admin:index"))  # → the login page, then back to the to-do list
        page.fill("#id_username", user.username)
        page.fill("#id_password", "pw")
        page.click("button[type=submit], input[type=submit]")
        page.wait_for_url(re.compile(r"/admin/$"))
        assert page.locator("html").get_attribute("lang") == language
        steps = iter(range(1, 100))

        def shot(step: str):
            page.screenshot(path=str(SHOTS / f"{flow}-{language}-{next(steps):02d}-{step}.png"), full_page=True)

        page.shot = shot
        page.live = live_server.url
        return page, user

    yield open_as
    for context in contexts:
        context.close()


def test_customer_service_finds_an_order_by_name_and_cancels_it_with_a_reason(staff_page, place, product):
    number = place(order_body(customer={**order_body()["customer"], "name": "李伟"})).json()["number"]
    page, user = staff_page("Customer service", "cs-cancel")
    page.shot("todo")
    page.goto(page.live + reverse("admin:orders_order_changelist"))
    page.fill("input[name=q]", "李伟")
    page.press("input[name=q]", "Enter")
    page.wait_for_selector(f"text={number}")
    page.shot("search")
    order = Order.objects.get(number=number)
    page.click(f"a:has-text('{number}')")
    page.wait_for_url(re.compile(rf"/admin/orders/order/{order.pk}/change/"))
    assert page.input_value("input[name=customer_name]") == "李伟"  # Customer service may correct it
    page.shot("order")
    page.click(f"a[href='{reverse('admin:orders_order_transition', args=[order.pk, 'cancel'])}']")
    page.fill("textarea[name=reason]", "客户来电：重复下单")
    page.shot("confirm")
    page.click("#action-form button[type=submit]")
    page.wait_for_url(re.compile(rf"/admin/orders/order/{order.pk}/change/"))
    page.shot("cancelled")
    order.refresh_from_db()
    assert order.status == "cancelled"
    log = TransitionLog.objects.get(object_repr=number, target="cancelled")
    assert (log.user, log.reason) == (user, "客户来电：重复下单")
    assert "客户来电：重复下单" in page.content()  # the reason shows in the timeline


def test_finance_marks_a_pending_order_paid_and_refunds_another(staff_page, place, product, api, client):
    pending = Order.objects.get(number=place(order_body()).json()["number"])
    paid_number = place(order_body(customer={**order_body()["customer"], "id": "c-2"})).json()["number"]
    payment = api.post(f"/api/v1/orders/{paid_number}/payments/", {"gateway": "stripe"}, format="json").json()
    deliver(client, signed(payment["reference"], "stripe"))
    page, user = staff_page("Finance", "finance")
    page.shot("todo")
    page.goto(page.live + reverse("admin:orders_order_change", args=[pending.pk]))
    page.click(f"a[href='{reverse('admin:orders_order_mark_paid', args=[pending.pk])}']")
    page.fill("input[name=bank_reference]", "ICBC-20261202-0042")
    page.shot("mark-paid")
    page.click("#action-form button[type=submit]")
    page.wait_for_url(re.compile(rf"/admin/orders/order/{pending.pk}/change/"))
    page.wait_for_selector("text=ICBC-20261202-0042")  # the bank reference on the order page
    page.shot("paid")
    pending.refresh_from_db()
    assert pending.payment_status == "paid"
    assert Payment.objects.get(order=pending, gateway="manual").gateway_txn_id == "ICBC-20261202-0042"

    paid = Order.objects.get(number=paid_number)
    stripe = Payment.objects.get(order=paid, gateway="stripe")
    page.goto(page.live + reverse("admin:orders_order_change", args=[paid.pk]))
    page.click(f"a[href='{reverse('admin:payments_payment_refund', args=[stripe.pk])}']")
    page.fill("input[name=amount]", "10.00")
    page.fill("[name=reason]", "Damaged box")
    page.shot("refund")
    page.click("#action-form button[type=submit]")
    page.wait_for_url(re.compile(rf"/admin/payments/payment/{stripe.pk}/change/"))
    page.shot("refunded")
    refund = Refund.objects.get(payment=stripe)
    assert (refund.amount, refund.status, refund.actor) == (10, "succeeded", user.username)


def test_warehouse_picks_packs_prints_and_ships_from_the_shipment_page(staff_page, place, product, api, client):
    number = place(order_body()).json()["number"]
    payment = api.post(f"/api/v1/orders/{number}/payments/", {"gateway": "stripe"}, format="json").json()
    deliver(client, signed(payment["reference"], "stripe"))
    start_fulfillment(number)
    shipment = Shipment.objects.get(order__number=number)
    page, user = staff_page("Warehouse", "warehouse")
    page.shot("todo")
    page.goto(page.live + reverse("admin:fulfillment_shipment_changelist"))
    page.fill("input[name=q]", number)  # as a scanner types it
    page.press("input[name=q]", "Enter")
    page.shot("list")
    page.goto(page.live + reverse("admin:fulfillment_shipment_change", args=[shipment.pk]))
    for step in ("start_picking", "pack"):
        page.click(f"a[href='{reverse(f'admin:fulfillment_shipment_{step}', args=[shipment.pk])}']")
        page.shot(step)
        page.click("#action-form button[type=submit]")
        page.wait_for_url(re.compile(rf"/admin/fulfillment/shipment/{shipment.pk}/change/"))
    # Print: the picking list the link opens, fetched in the staff member's session.
    picking = page.request.get(page.live + reverse("admin:fulfillment_shipment_picking_list", args=[shipment.pk]))
    assert picking.status == 200 and number in picking.text()
    page.click(f"a[href='{reverse('admin:fulfillment_shipment_ship', args=[shipment.pk])}']")
    page.select_option("select[name=carrier]", "sandbox")
    page.shot("ship")
    page.click("#action-form button[type=submit]")
    page.wait_for_url(re.compile(rf"/admin/fulfillment/shipment/{shipment.pk}/change/"))
    page.shot("shipped")
    shipment.refresh_from_db()
    assert shipment.status == "shipped" and shipment.tracking_number
    assert TransitionLog.objects.filter(object_repr=str(shipment), target="shipped", user=user).exists()
    assert Order.objects.get(number=number).status == "shipped"


def test_a_staff_member_adds_a_comment_to_an_order(staff_page, place, product):
    order = Order.objects.get(number=place(order_body()).json()["number"])
    page, user = staff_page("Warehouse", "comment")
    page.goto(page.live + reverse("admin:orders_order_change", args=[order.pk]))
    page.click(f"a[href='{reverse('admin:orders_order_comment', args=[order.pk])}']")
    page.fill("textarea[name=text]", "Customer asks for weekend delivery / 周末送货")
    page.shot("comment")
    page.click("#action-form button[type=submit]")
    page.wait_for_url(re.compile(rf"/admin/orders/order/{order.pk}/change/"))
    page.wait_for_selector("text=Customer asks for weekend delivery")
    page.shot("timeline")
    comment = order.comments.get()
    assert (comment.user, comment.text) == (user, "Customer asks for weekend delivery / 周末送货")


def test_finance_sees_a_failing_endpoints_attempts_and_redelivers(staff_page, place, product):
    from tests.webhooks.test_webhooks import add_endpoint
    from webhooks.models import WebhookDelivery
    from webhooks.services import webhook_deliver

    endpoint, _secret = add_endpoint("http://127.0.0.1:9/erp", "order.placed")  # nothing listens there
    place(order_body())
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert webhook_deliver(delivery_id=delivery.pk) == "pending"  # refused connection: retried later
    page, user = staff_page("Finance", "webhooks")
    page.goto(page.live + reverse("admin:webhooks_webhookdelivery_changelist"))
    page.shot("deliveries")
    page.goto(page.live + reverse("admin:webhooks_webhookdelivery_change", args=[delivery.pk]))
    page.wait_for_selector("text=Connection refused")  # the attempt's error, on the delivery's page
    page.shot("delivery")
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.created_at)
    for _ in range(8):  # the schedule runs out
        webhook_deliver(delivery_id=delivery.pk, now=delivery.created_at + timedelta(days=30))
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    page.goto(page.live + reverse("admin:webhooks_webhookdelivery_redeliver", args=[delivery.pk]))
    page.shot("redeliver")
    page.click("#action-form button[type=submit]")
    page.wait_for_url(re.compile(rf"/admin/webhooks/webhookdelivery/{delivery.pk}/change/"))
    page.shot("redelivered")
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.attempts == 0
    assert TransitionLog.objects.filter(object_id=delivery.pk, target="pending", actor=user.username).exists()


def test_the_order_health_page_draws_its_charts(staff_page, place, product, api, client):
    for i in range(3):
        number = place(order_body(customer={**order_body()["customer"], "id": f"h-{i}"})).json()["number"]
        payment = api.post(f"/api/v1/orders/{number}/payments/", {"gateway": "alipay"}, format="json").json()
        deliver(client, signed(payment["reference"], "alipay"))
    place(order_body(items=[{"sku": "NOPE", "quantity": 1, "unit_price": "1.00"}]))
    page, _user = staff_page("Customer service", "order-health")
    page.click(f"a[href='{reverse('order-health')}']")  # linked from the to-do list
    page.wait_for_selector("canvas.chart")
    page.wait_for_function("document.querySelector('canvas.chart').width > 0")  # Chart.js drew it
    assert page.locator("[data-outcome=created]").inner_text().endswith("3")
    page.shot("hour")
    page.click("[data-range=week]")
    page.wait_for_url(re.compile(r"range=week"))
    page.shot("week")
