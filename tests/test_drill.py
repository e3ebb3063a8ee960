"""`make drill` against a live server: the burst lands, and the order-health page shows it with advice."""

import io
import os

import pytest
from django.core.management import call_command
from django.urls import reverse

from orders.models import Order
from payments.models import PaymentEvent
from tests.factories import UserFactory
from tests.test_browser import CHROMIUM, SHOTS


@pytest.mark.django_db(transaction=True)
def test_the_drill_leaves_the_dashboard_showing_it(live_server, product, client):
    out = io.StringIO()
    call_command("ops_drill", "--url", live_server.url, "--orders", "40", "--clients", "2", "--forged-share", "1",
                 stdout=out)  # fmt: skip
    summary = out.getvalue()
    assert "price_mismatch" in summary and '"created": 36' in summary
    assert Order.objects.filter(customer_id__startswith="drill-").count() == 36
    forged = PaymentEvent.objects.filter(gateway="wechatpay", outcome="rejected", signature_valid=False).count()
    assert forged == 12
    client.force_login(UserFactory(username="ops", group="Finance"))
    page = client.get(reverse("order-health") + "?range=hour").content.decode()
    assert "WeChat Pay" in page and "signature" in page  # the recommendation
    assert "price_mismatch" in page
    if os.path.exists(CHROMIUM):  # the runbook's pictures: the page after the drill, in both languages
        _screenshots(live_server.url)


def _screenshots(base: str) -> None:
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
            for language, locale in (("en", "en-GB"), ("zh-hans", "zh-CN")):
                context = browser.new_context(locale=locale, viewport={"width": 1366, "height": 900})
                page = context.new_page()
                page.goto(base + reverse("admin:login") + "?next=" + reverse("order-health"))
                page.fill("#id_username", "ops")
                page.fill("#id_password", "pw")
                page.click("button[type=submit], input[type=submit]")
                page.wait_for_selector("#advice li")
                page.wait_for_function("document.querySelector('canvas.chart').width > 0")
                page.screenshot(path=str(SHOTS / f"drill-order-health-{language}.png"), full_page=True)
                context.close()
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
