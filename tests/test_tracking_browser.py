"""The public tracking page in Chromium, as a customer opens it from a message: a phone and a desktop,
Chinese and English. Screenshots go to var/screenshots/."""

import pytest

from tests.conftest import order_body
from tests.fulfillment.test_sandbox_fulfil import fulfil
from tests.payments.conftest import deliver, signed
from tests.test_browser import CHROMIUM, SHOTS, browser  # noqa: F401  (the module's Chromium fixture)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not __import__("os").path.exists(CHROMIUM), reason="needs Debian's chromium"),
]

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 900}}


@pytest.fixture
def delivered_with_return(api, client, place, product):
    number = place(order_body()).json()["number"]
    payment = api.post(f"/api/v1/orders/{number}/payments/", {"gateway": "alipay"}, format="json").json()
    deliver(client, signed(payment["reference"], "alipay"))
    body = fulfil(number, "--until", "delivered")
    returned = api.post(
        f"/api/v1/orders/{number}/returns/",
        {"items": [{"sku": "SKU-001", "quantity": 1}], "reason": "changed_mind"},
        format="json",
    )
    assert returned.status_code == 201
    return body


@pytest.mark.parametrize("device", list(VIEWPORTS))
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_customer_follows_the_order_on_a_phone_and_a_desktop(
    browser,  # noqa: F811
    live_server,
    delivered_with_return,
    device,
    language,
):
    body = delivered_with_return
    path = body["tracking_page_url"].split("/t/", 1)[1]
    context = browser.new_context(viewport=VIEWPORTS[device], is_mobile=device == "phone", has_touch=device == "phone")
    page = context.new_page()
    page.goto(f"{live_server.url}/t/{path}" + ("?lang=en" if language == "en" else ""))

    assert page.locator("html").get_attribute("lang") == language
    assert page.locator("h1").inner_text().endswith(body["number"])
    status = page.locator("[data-status]").inner_text()
    assert status == {"zh-hans": "已签收", "en": "Delivered"}[language]
    assert page.locator(".shipment").count() == len(body["shipments"])
    shipment = body["shipments"][0]
    assert shipment["tracking_number"] in page.locator(".shipment").first.inner_text()
    assert page.locator(".events li").count() == len(shipment["events"])
    assert page.locator("[data-return-status=requested]").count() == 1
    text = page.locator("body").inner_text()
    assert "zhang.san@example.com" not in text and "13800138000" not in text and "Century Ave" not in text
    # Mobile-first: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(SHOTS / f"tracking-page-{device}-{language}.png"), full_page=True)
    context.close()
