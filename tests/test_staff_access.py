"""Every cell of config.permissions.STAFF_ACCESS, tried through the admin over HTTP with hand-built requests
(never by looking for a button): each group can do exactly what its row says, and nothing else."""

import io
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse

from config.permissions import CUSTOMER_ADDRESS, CUSTOMER_CONTACT, STAFF_ACCESS, TRANSITION_PERMISSIONS, Access
from core.fsm import transition_apply
from fulfillment.models import Shipment
from fulfillment.services import shipment_create_for_order, shipment_pack, shipment_start_picking
from inventory.models import StockItem, Warehouse
from notifications.models import Notification
from notifications.services import notification_deliver
from orders.models import Order, OrderEdit, Return
from orders.returns import return_decide, return_request
from payments.models import Payment, PaymentEvent, new_refund_number
from tests.conftest import order_body
from tests.factories import UserFactory
from tests.payments.conftest import deliver, signed
from webhooks.models import WebhookDelivery, WebhookEndpoint

GROUPS = list(STAFF_ACCESS)
NO_ACCESS = Access(actions=())


class World:
    """Orders in every state a cell needs, made the way they are made in production (API, callbacks)."""

    def __init__(self, api, client, place):
        self.api, self.client, self.place = api, client, place
        self.n = 0

    def pending(self) -> Order:
        self.n += 1
        customer = {**order_body()["customer"], "id": f"w{self.n}"}
        return Order.objects.get(number=self.place(order_body(customer=customer)).json()["number"])

    def paid(self) -> tuple[Order, Payment]:
        order = self.pending()
        payment = self.api.post(f"/api/v1/orders/{order.number}/payments/", {"gateway": "stripe"}, format="json")
        assert deliver(self.client, signed(payment.json()["reference"], "stripe")).status_code == 200
        return Order.objects.get(pk=order.pk), Payment.objects.get(reference=payment.json()["reference"])

    def ret(self, status: str) -> Return:
        """A delivered order with a return in `status` (requested or approved)."""
        order, _payment = self.paid()
        call_command("sandbox_fulfil", order.number, "--until", "delivered", stdout=io.StringIO())
        order.refresh_from_db()
        ret = return_request(
            order=order, items=[{"sku": "SKU-001", "quantity": 1}], reason="damaged", note="", actor="task:test"
        )
        if status == "approved":
            return_decide(number=ret.number, approve=True, actor=UserFactory(username=f"rs{self.n}", is_superuser=True))
        return Return.objects.get(pk=ret.pk)

    def held(self) -> Order:
        self.n += 1
        body = order_body(allow_duplicate=True, customer={**order_body()["customer"], "id": f"h{self.n}"})
        numbers = [self.place(body).json()["number"] for _ in range(4)]
        return Order.objects.get(number=numbers[-1], review_status="held")

    def shipment(self, status: str) -> Shipment:
        order, _payment = self.paid()
        [shipment] = shipment_create_for_order(order_number=order.number, actor="task:test")
        if status in ("picking", "packed"):
            shipment_start_picking(shipment_id=shipment.pk, actor="task:test")
        if status == "packed":
            shipment_pack(shipment_id=shipment.pk, actor="task:test")
        return Shipment.objects.get(pk=shipment.pk)


def action(client, model_admin, name, pk):
    opts = model_admin.model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return client.post(url, {"action": name, "_selected_action": [pk]})


def try_transition(client, world, model: str, name: str) -> bool:
    """Attempt one transition as the logged-in user; whether it happened."""
    if model == "orders.order":
        order = {"cancel": world.pending, "release_review": world.held, "start_processing": lambda: world.paid()[0]}[
            name
        ]()
        field = "review_status" if name == "release_review" else "status"
        before = getattr(order, field)
        client.post(reverse("admin:orders_order_transition", args=[order.pk, name]), {"reason": "staff access test"})
        return getattr(Order.objects.get(pk=order.pk), field) != before
    if model == "orders.return":
        ret = world.ret("approved" if name == "receive" else "requested")
        if name == "receive":
            line = ret.lines.get()
            data = {f"line_{line.pk}": str(Warehouse.objects.first().pk), f"why_{line.pk}": ""}
            client.post(reverse("admin:orders_return_receive", args=[ret.pk]), data)
        else:
            client.post(reverse("admin:orders_return_decide", args=[ret.pk, name]), {"reason": "staff access test"})
        return Return.objects.get(pk=ret.pk).status != ret.status
    if model == "notifications.notification":
        world.pending()
        note = Notification.objects.filter(channel="email").latest("pk")
        assert notification_deliver(notification_id=note.pk) == "sent"
        action(client, admin.site._registry[Notification], "resend", note.pk)
        return Notification.objects.get(pk=note.pk).status == "queued"
    if model == "payments.payment":
        _order, payment = world.paid()
        client.post(
            reverse("admin:payments_payment_refund", args=[payment.pk]),
            {"amount": "10.00", "reason": "test", "number": new_refund_number()},
        )
        return Payment.objects.get(pk=payment.pk).refunded_amount == Decimal("10.00")
    if model == "webhooks.webhookendpoint":  # enable a disabled endpoint
        endpoint = WebhookEndpoint.objects.create(url=f"https://erp.example.com/{world.n}")
        transition_apply(endpoint, "disable", actor="task:test")
        endpoint.save()
        action(client, admin.site._registry[WebhookEndpoint], "enable", endpoint.pk)
        return WebhookEndpoint.objects.get(pk=endpoint.pk).status == "active"
    if model == "webhooks.webhookdelivery":  # redeliver a failed delivery
        endpoint, _ = WebhookEndpoint.objects.get_or_create(
            url="https://erp.example.com/hooks", events=["order.placed"]
        )
        delivery = WebhookDelivery.objects.get(order=world.pending(), endpoint=endpoint)
        transition_apply(delivery, "give_up", actor="task:test")
        delivery.save()
        client.post(reverse("admin:webhooks_webhookdelivery_redeliver", args=[delivery.pk]), {})
        return WebhookDelivery.objects.get(pk=delivery.pk).status == "pending"
    shipment = world.shipment({"start_picking": "pending", "pack": "picking", "ship": "packed"}[name])
    if name == "ship":
        client.post(
            reverse("admin:fulfillment_shipment_ship", args=[shipment.pk]),
            {"carrier": "sandbox", "tracking_number": f"SB{shipment.pk:06d}"},
        )
    else:
        action(client, admin.site._registry[Shipment], name, shipment.pk)
    return Shipment.objects.get(pk=shipment.pk).status != shipment.status


def try_extra(client, world, codename: str) -> bool:
    """Attempt the staff action a custom permission guards; whether it happened."""
    if codename == "export_order":
        order = world.pending()
        response = action(client, admin.site._registry[Order], "export_csv", order.pk)
        return response.get("Content-Type", "").startswith("text/csv")
    if codename == "reconcile_payment":
        order = world.pending()
        client.post(
            reverse("admin:orders_order_mark_paid", args=[order.pk]), {"bank_reference": "B1", "amount": order.total}
        )
        return Order.objects.get(pk=order.pk).payment_status == "paid"
    if codename == "replay_paymentevent":
        world.paid()
        event = PaymentEvent.objects.filter(kind="callback").latest("pk")
        action(client, admin.site._registry[PaymentEvent], "replay", event.pk)
        return PaymentEvent.objects.filter(replay_of=event).exists()
    if codename == "print_shipment":
        shipment = world.shipment("pending")
        return client.get(reverse("admin:fulfillment_shipment_picking_list", args=[shipment.pk])).status_code == 200
    if codename == "move_stock":
        item = StockItem.objects.first()
        before = item.on_hand
        client.post(reverse("admin:inventory_stockitem_receive", args=[item.pk]), {"quantity": 3, "reference": "PO-1"})
        return StockItem.objects.get(pk=item.pk).on_hand == before + 3
    raise AssertionError(f"no way to try {codename}")


def change_form_data(superuser_client, url) -> dict:
    """What the change form posts unchanged: its fields' current values and each inline's management form."""
    context = superuser_client.get(url).context
    form = context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None or value is False:
            continue
        data[name] = value
    for inline in context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({management.add_prefix(k): v for k, v in management.initial.items()})
    return data


@pytest.mark.django_db
@pytest.mark.parametrize("group", GROUPS)
def test_each_group_can_do_exactly_its_row_of_the_table(client, api, place, product, group):
    superuser = UserFactory(username="root", is_superuser=True)
    boss = client.__class__()
    boss.force_login(superuser)
    world = World(api, client, place)
    paid_order, _payment = world.paid()
    world.shipment("pending")
    world.held()
    row = STAFF_ACCESS[group]
    user = UserFactory(username=f"staff-{group}", group=group)
    client.force_login(user)
    seen = {}

    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        label = f"{opts.app_label}.{opts.model_name}"
        access = row.get(label, NO_ACCESS)
        base = f"admin:{opts.app_label}_{opts.model_name}"
        obj = model_admin.get_queryset(_superuser_request(superuser)).first()
        can_view = bool({"view", "change"} & set(access.actions))
        seen[(label, "view")] = client.get(reverse(f"{base}_changelist")).status_code == 200
        assert seen[(label, "view")] == can_view, (group, label, "view")
        add = client.get(reverse(f"{base}_add"))
        assert (add.status_code == 200) == ("add" in access.actions), (group, label, "add")
        if obj is None:
            continue
        assert (client.get(reverse(f"{base}_delete", args=[obj.pk])).status_code == 200) == (
            "delete" in access.actions
        ), (group, label, "delete")
        change_url = reverse(f"{base}_change", args=[obj.pk])
        if model_admin.has_change_permission(_superuser_request(superuser), obj):
            response = client.post(change_url, change_form_data(boss, change_url))
            assert (response.status_code == 302) == ("change" in access.actions), (group, label, "change", response)

    for model, transitions in TRANSITION_PERMISSIONS.items():
        for name in transitions:
            allowed = name in row.get(model, NO_ACCESS).transitions
            assert try_transition(client, world, model, name) == allowed, (group, model, name)

    extras = {
        codename for access in (a for g in STAFF_ACCESS.values() for a in g.values()) for codename in access.extra
    }
    for codename in sorted(extras):
        allowed = any(codename in access.extra for access in row.values())
        assert try_extra(client, world, codename) == allowed, (group, codename)

    editable = set(row.get("orders.order", NO_ACCESS).fields)
    url = reverse("admin:orders_order_change", args=[paid_order.pk])
    for field in CUSTOMER_CONTACT + CUSTOMER_ADDRESS:
        new = {"customer_email": "new@example.com", "customer_phone": "+8613900139000", "country": "HK"}.get(
            field, f"new {field}"
        )
        client.post(url, {**change_form_data(boss, url), field: new})
        changed = getattr(Order.objects.get(pk=paid_order.pk), field) == new
        assert changed == (field in editable), (group, field)
        if changed:
            edit = OrderEdit.objects.filter(order=paid_order, field=field).latest("pk")
            assert (edit.new_value, edit.user) == (new, user)


def _superuser_request(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = user
    return request


@pytest.mark.django_db
def test_the_groups_hold_exactly_the_table_and_transition_permissions_match_the_models():
    from django.apps import apps

    from config.permissions import table_permissions

    for name, access in STAFF_ACCESS.items():
        held = {(p.content_type.app_label, p.codename) for p in Group.objects.get(name=name).permissions.all()}
        assert held == table_permissions(access), name
    guarded = {}  # every transition that has a permission, in every model
    for cls in apps.get_models():
        for name in dir(cls):
            meta = getattr(getattr(cls, name, None), "_django_fsm", None)
            permissions = {t.permission for t in meta.transitions.values()} - {None} if meta else set()
            if permissions and not cls._meta.proxy:
                [permission] = permissions
                guarded.setdefault(cls._meta.label_lower, {})[name] = permission.split(".")[1]
    assert guarded == TRANSITION_PERMISSIONS


@pytest.mark.django_db
def test_an_edit_of_customer_details_shows_on_the_order_page_with_who_and_what(client, place, product):
    order = Order.objects.get(number=place().json()["number"])
    cs = UserFactory(username="li.na", group="Customer service")
    client.force_login(cs)
    url = reverse("admin:orders_order_change", args=[order.pk])
    boss = client.__class__()
    boss.force_login(UserFactory(username="root", is_superuser=True))
    response = client.post(url, {**change_form_data(boss, url), "street": "1 New Road", "customer_phone": "bad"})
    assert response.status_code == 200 and "Enter a valid phone number" in response.content.decode()
    assert Order.objects.get(pk=order.pk).street == "88 Century Ave"  # refused as a whole
    assert client.post(url, {**change_form_data(boss, url), "street": "1 New Road"}).status_code == 302
    page = client.get(url).content.decode()
    assert "88 Century Ave" in page and "1 New Road" in page and "li.na" in page
