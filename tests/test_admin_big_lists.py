"""The admin lists of tables that grow with the orders (core.admin.BigListMixin) on the real PostgreSQL: they
find what Django's own search finds, never read every row for their filters, dates or count, and show the
same page as before."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.admin import ModelAdmin
from django.db import connection
from django.db.models.constants import LOOKUP_SEP
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from unfold.templatetags import unfold_list

from core.admin import BigListMixin, StateFieldFilter, TargetStateFilter
from core.apps import headers_once_per_page
from core.models import TransitionLog
from core.paginator import EstimatedCountPaginator
from core.search import NAMED_LOOKUPS
from fulfillment.models import Shipment
from notifications.models import Notification
from payments.models import Payment, PaymentEvent
from payments.services import payment_refund
from tests.factories import UserFactory
from tests.test_admin_lists import full_life
from tests.webhooks.test_webhooks import add_endpoint
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db

BIG_LISTS = [admin_ for admin_ in admin.site._registry.values() if isinstance(admin_, BigListMixin)]


@pytest.fixture
def boss(db):
    return UserFactory(username="boss", is_superuser=True)


@pytest.fixture
def history(api, client, place, product, boss):
    """Three orders paid, shipped, tracked and notified about: a row or more in every big table."""
    warehouse_user = UserFactory(username="w", group="Warehouse")
    add_endpoint("https://erp.example.com/hooks")  # deliveries, never sent here (no worker)
    for i in range(3):
        full_life(api, client, place, warehouse_user, i)
    payment = Payment.objects.order_by("pk").first()
    payment_refund(payment=payment, amount=Decimal("1.00"), user=boss, reason="damaged box")  # the sandbox's id
    client.force_login(boss)
    return client


def test_every_list_of_a_table_that_grows_with_the_orders_is_a_big_list():
    names = {type(a).__name__ for a in BIG_LISTS}
    for expected in [
        "PaymentAdmin",
        "PaymentEventAdmin",
        "RefundAdmin",
        "ShipmentAdmin",
        "TrackingEventAdmin",
        "TransitionLogAdmin",
        "StockMovementAdmin",
        "ReservationAdmin",
        "NotificationAdmin",
        "WebhookEventAdmin",
        "WebhookDeliveryAdmin",
        "IdempotencyKeyAdmin",
    ]:
        assert expected in names
    for model_admin in BIG_LISTS:
        assert issubclass(model_admin.paginator, EstimatedCountPaginator), model_admin
        assert model_admin.date_hierarchy is None, model_admin


def test_no_big_list_reads_every_row_for_its_filters_dates_or_count(history):
    for model_admin in BIG_LISTS:
        table = model_admin.model._meta.db_table
        url = reverse(f"admin:{model_admin.opts.app_label}_{model_admin.opts.model_name}_changelist")
        with CaptureQueriesContext(connection) as ctx:
            response = history.get(url)
        assert response.status_code == 200, url
        if not model_admin.model._meta.proxy:  # (the to-do lists of payments and parcels needing attention are empty)
            assert response.context["cl"].result_count > 0, url  # the history reached this table
        for query in ctx.captured_queries:
            sql = query["sql"].upper()
            on_table = f'FROM "{table.upper()}"' in sql
            assert not (on_table and "DISTINCT" in sql), (url, query["sql"])  # a filter's or the dates' values
            assert not (on_table and "COUNT(" in sql and "LIMIT" not in sql and "WHERE" not in sql), (url, sql)


def _terms(model_admin, queryset) -> list[str]:
    """Every search field's values in the rows, in another case; two words of one row; two of different rows; a
    quoted word; a word nothing has."""
    terms = ["nothing-has-this"]
    rows = []
    for field in model_admin.search_fields:
        path, _sep, lookup = field.lstrip("=").rpartition(LOOKUP_SEP)
        path = path if lookup in NAMED_LOOKUPS else field.lstrip("=")
        values = [v for v in queryset.order_by("pk").values_list(path, flat=True) if v]
        assert values, (model_admin, field)  # the history gave the field something to find
        rows.append(values)
        terms += [values[0].lower(), values[-1].swapcase(), f'"{values[0]}"']
        if not field.startswith("="):
            terms.append(values[0][1:-1])  # a part of it
    first, *others = rows
    for other in others:
        terms += [f"{first[0]} {other[0]}", f"{first[0]} {other[-1]}"]
    return terms


def test_a_big_list_finds_what_djangos_own_search_finds(history, boss):
    request = RequestFactory().get("/")
    request.user = boss
    for model_admin in BIG_LISTS:
        if not model_admin.search_fields or model_admin.model._meta.proxy:  # (a proxy's is its parent's search)
            continue
        queryset = model_admin.get_queryset(request)
        for term in _terms(model_admin, queryset):
            ours, duplicates = model_admin.get_search_results(request, queryset, term)
            theirs, _duplicates = ModelAdmin.get_search_results(model_admin, request, queryset, term)
            assert not duplicates
            expected = sorted(set(theirs.values_list("pk", flat=True)))
            assert sorted(ours.values_list("pk", flat=True)) == expected, (type(model_admin).__name__, term)


def test_the_parcel_list_counts_each_parcels_lines(history):
    Shipment.objects.first().lines.first().delete()  # one parcel with a line fewer than the others
    response = history.get(reverse("admin:fulfillment_shipment_changelist"))
    shown = {s.pk: s.n_lines for s in response.context["cl"].result_list}
    assert shown == {s.pk: s.lines.count() for s in Shipment.objects.all()}
    assert len(set(shown.values())) == 2


def test_the_transition_log_filters_offer_every_field_and_state_the_log_holds(history, boss):
    request = RequestFactory().get("/")
    request.user = boss
    model_admin = admin.site._registry[TransitionLog]
    fields = dict(StateFieldFilter(request, {}, TransitionLog, model_admin).lookup_choices)
    states = dict(TargetStateFilter(request, {}, TransitionLog, model_admin).lookup_choices)
    assert set(TransitionLog.objects.values_list("field", flat=True)) <= set(fields)
    assert set(TransitionLog.objects.values_list("target", flat=True)) <= set(states)
    assert str(states["cancelled"]) == "Cancelled" and str(fields["payment_status"]) == "Payment status"

    response = history.get(reverse("admin:core_transitionlog_changelist"), {"target__exact": "shipped"})
    shown = response.context["cl"].result_list
    assert len(shown) == TransitionLog.objects.filter(target="shipped").count() > 0
    assert {log.target for log in shown} == {"shipped"}


def test_the_messages_filter_by_the_shops_languages(history):
    Notification.objects.filter(pk=Notification.objects.order_by("pk").values("pk")[:1]).update(language="en")
    url = reverse("admin:notifications_notification_changelist")
    response = history.get(url, {"language__exact": "en"})
    assert [n.language for n in response.context["cl"].result_list] == ["en"]
    spec = next(s for s in response.context["cl"].filter_specs if getattr(s, "field", None) == "language")
    assert [code for code, _label in spec.lookup_choices] == [code for code, _name in settings.LANGUAGES]


def test_a_list_page_builds_its_column_headers_once_and_renders_the_same(history, monkeypatch):
    once = unfold_list.result_headers
    built = []

    def counted(cl):
        built.append(cl)
        return once.__wrapped__(cl)

    url = reverse("admin:payments_paymentevent_changelist")
    monkeypatch.setattr(unfold_list, "result_headers", counted)  # as django-unfold 0.91 has it: once per row
    per_row = history.get(url).content.decode()
    assert len(built) == 1 + PaymentEvent.objects.count()  # the header row, then again for each row
    built.clear()
    monkeypatch.setattr(unfold_list, "result_headers", headers_once_per_page(counted))
    per_page = history.get(url).content.decode()
    assert len(built) == 1
    token = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')  # masked afresh on each page
    assert token.sub("", per_page) == token.sub("", per_row)


def test_a_webhook_id_is_found_as_the_receiver_logged_it(history):
    """On its unique index: "=" (any case) compared UPPER() of every delivery's event id, 0.5 s at a million."""
    delivery = WebhookDelivery.objects.select_related("event").first()
    url = reverse("admin:webhooks_webhookdelivery_changelist")
    found = history.get(url, {"q": delivery.event.message_id}).context["cl"].result_list
    assert [d.pk for d in found] == [delivery.pk]
    assert not history.get(url, {"q": delivery.event.message_id.swapcase()}).context["cl"].result_list
