"""The public tracking page: reached by a signed token only, in the order's language, never showing the
customer's contact details; its link (and QR code) in the customer's messages."""

import io
import re

import pytest
import zxingcpp
from django.core import mail
from PIL import Image

from config.celery_app import app
from orders.tracking import tracking_token
from tests.conftest import order_body
from tests.fulfillment.test_sandbox_fulfil import fulfil, paid_order

PRIVATE = ("zhang.san@example.com", "+8613800138000", "13800138000", "88 Century Ave", "张三")


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


@pytest.fixture
def eager():
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.mark.django_db
def test_the_order_body_links_a_page_that_shows_the_order_and_nothing_private(api, place, product, client, settings):
    settings.PUBLIC_BASE_URL = "https://shop.example.com"
    body = place(order_body(language="en")).json()
    url = body["tracking_page_url"]
    assert url.startswith("https://shop.example.com/t/") and url.endswith("/")
    assert api.get(f"/api/v1/orders/{body['number']}/").json()["tracking_page_url"] == url

    page = client.get(path_of(url))

    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    html = page.content.decode()
    assert body["number"] in html and "Pending payment" in html and product.name in html
    assert not [p for p in PRIVATE if p in html]
    assert page["Referrer-Policy"] == "no-referrer" and "noindex" in page["X-Robots-Tag"]
    assert client.post(path_of(url)).status_code == 405


@pytest.mark.django_db
def test_tampered_truncated_or_forged_tokens_are_404(place, product, client):
    number = place(order_body()).json()["number"]
    token = tracking_token(number)
    signature = token.rsplit(".", 1)[1]
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    for bad in (
        token[:-1],  # truncated
        f"{number}.{flipped}",  # one character of the signature changed
        f"{number[:-1]}{'0' if number[-1] != '0' else '1'}.{signature}",  # another order, same signature
        number,  # no signature at all
        "%00",
    ):
        response = client.get(f"/t/{bad}/")
        assert response.status_code == 404, bad
        assert number not in response.content.decode()
    unknown = tracking_token("991231-ZZZZZZZZ")  # signed by us, but no such order
    assert client.get(f"/t/{unknown}/").status_code == 404


@pytest.mark.django_db
def test_shipments_news_newest_first_and_the_return_in_the_orders_language(api, client, place, product):
    number = paid_order(api, client, place)  # a zh-hans order by default
    body = fulfil(number, "--until", "delivered")
    api.post(f"/api/v1/orders/{number}/returns/", {"items": [{"sku": "SKU-001", "quantity": 1}], "reason": "damaged"},
             format="json")  # fmt: skip
    shipment = body["shipments"][0]

    html = client.get(path_of(body["tracking_page_url"])).content.decode()

    assert "已签收" in html  # delivered, in Chinese
    assert shipment["tracking_number"] in html
    events = re.findall(r"<li><strong>([^<]+)</strong>", html)
    assert len(events) == len(shipment["events"]) >= 2
    assert events[0] != events[-1]  # newest (delivered) first, the carrier's pickup last
    positions = [html.index(e["description"]) for e in reversed(shipment["events"]) if e["description"]]
    assert positions == sorted(positions)
    assert 'data-return-status="requested"' in html
    english = client.get(path_of(body["tracking_page_url"]) + "?lang=en").content.decode()
    assert "Delivered" in english and "Requested" in english
    assert not [p for p in PRIVATE if p in html + english]


@pytest.mark.django_db
def test_the_page_is_rate_limited_per_address(place, product, client, settings):
    settings.TRACKING_PAGE_THROTTLE_RATE = "3/min"
    url = path_of(place(order_body()).json()["tracking_page_url"])
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]
    throttled = client.get(url)
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0
    assert client.get(url, REMOTE_ADDR="10.0.0.9").status_code == 200  # another address


@pytest.mark.django_db
def test_the_confirmation_email_carries_the_link_and_a_qr_code_of_it(
    place, product, eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        url = place(order_body()).json()["tracking_page_url"]

    [email] = mail.outbox  # order placed
    [html] = [content for content, mimetype in email.alternatives if mimetype == "text/html"]
    assert url in email.body and f'href="{url}"' in html
    [qr] = [part for part in email.attachments if not isinstance(part, tuple)]
    cid = qr["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html
    [decoded] = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.get_payload(decode=True))))
    assert decoded.text == url


@pytest.mark.django_db
def test_every_customer_message_carries_the_link(
    api, client, place, product, eager, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.SMS_BACKEND, settings.SMS_FILE_DIR = "file", str(tmp_path)
    with django_capture_on_commit_callbacks(execute=True):
        number = paid_order(api, client, place)
    url = api.get(f"/api/v1/orders/{number}/").json()["tracking_page_url"]
    customer_mails = [m for m in mail.outbox if m.to == ["zhang.san@example.com"]]
    assert len(customer_mails) >= 2 and all(url in m.body for m in customer_mails)
    sms = [p.read_text() for p in tmp_path.glob("*.json")]
    assert sms and all(url in text for text in sms)
