"""The admin's home, its friendly error pages and the e-mail preview."""

from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from notifications.models import Notification
from orders.models import Order
from tests.conftest import order_body
from tests.factories import UserFactory


def todo_counts(page: str) -> dict[str, str]:
    """{label: number} of the to-do cards on the home page."""

    class Cards(HTMLParser):
        def __init__(self):
            super().__init__()
            self.cards, self.texts, self.inside = [], [], 0

        def handle_starttag(self, tag, attrs):
            if tag == "a" and "todo-item" in (dict(attrs).get("class") or ""):
                self.inside, self.texts = 1, []
            elif self.inside:
                self.inside += 1

        def handle_endtag(self, tag):
            if self.inside:
                self.inside -= 1
                if self.inside == 0:
                    self.cards.append([t for t in self.texts if t])

        def handle_data(self, data):
            if self.inside:
                self.texts.append(data.strip())

    parser = Cards()
    parser.feed(page)
    return {texts[0]: texts[1] for texts in parser.cards if len(texts) >= 2}


@pytest.mark.django_db
def test_each_group_sees_its_own_to_do_list_with_counts_linking_to_the_list(client, place, product):
    numbers = [place(order_body(allow_duplicate=True)).json()["number"] for _ in range(4)]  # the 4th is held
    client.force_login(UserFactory(username="cs", group="Customer service"))
    page = client.get(reverse("admin:index")).content.decode()
    cards = todo_counts(page)
    assert cards["Orders held for review"] == "1"
    assert "To pick" not in cards and "Refunds pending at the gateway" not in cards  # other groups' work
    assert reverse("admin:orders_order_changelist") + "?review_status__exact=held" in page
    held = client.get(reverse("admin:orders_order_changelist") + "?review_status__exact=held").content.decode()
    assert numbers[3] in held and numbers[0] not in held

    client.force_login(UserFactory(username="wh", group="Warehouse"))
    cards = todo_counts(client.get(reverse("admin:index")).content.decode())
    assert {"To pick", "To pack", "To ship", "Restock alerts", "Back-orders waiting for stock"} <= set(cards)
    assert "Orders held for review" not in cards


@pytest.mark.django_db
def test_the_home_page_costs_the_same_queries_with_many_orders(client, place, product):
    client.force_login(UserFactory(username="boss", is_superuser=True))

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("admin:index")).status_code == 200
        return len(ctx)

    place(order_body(allow_duplicate=True))
    few = count()
    for _ in range(10):
        place(order_body(allow_duplicate=True))
    assert count() == few <= 25


@pytest.mark.django_db
def test_a_forbidden_page_and_a_missing_one_explain_themselves(client, place, product):
    order = Order.objects.get(number=place(order_body()).json()["number"])
    client.force_login(UserFactory(username="wh", group="Warehouse"))
    forbidden = client.get(reverse("admin:orders_order_mark_paid", args=[order.pk]))
    assert forbidden.status_code == 403
    assert "You may not open this page" in forbidden.content.decode() and "/admin/" in forbidden.content.decode()
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404 and "/api/docs/" in missing.content.decode()
    assert client.get("/api/v1/no-such-thing/").json()["code"] == "not_found"  # the API still answers JSON


@pytest.mark.django_db
def test_the_email_preview_shows_the_message_as_sent(client, place, product):
    number = place(order_body()).json()["number"]
    notification = Notification.objects.get(order__number=number, channel="email", event="order_placed")
    client.force_login(UserFactory(username="boss", is_superuser=True))
    page = client.get(reverse("admin:notifications_notification_change", args=[notification.pk])).content.decode()

    class Frame(HTMLParser):
        document = None

        def handle_starttag(self, tag, attrs):
            if tag == "iframe":
                self.document = dict(attrs)["srcdoc"]  # unescaped, as the browser reads it

    frame = Frame()
    frame.feed(page)
    assert frame.document and frame.document.lstrip().lower().startswith(("<!doctype", "<html"))
    assert number in frame.document and "</html>" in frame.document.lower()
