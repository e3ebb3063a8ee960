"""Staff work here. Admin actions call services; the permission of each transition is checked on the
server (django-fsm-2 4.2.4's own admin does not check it), never only by hiding a button."""

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR, InlineModelAdmin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey
from unfold.admin import ModelAdmin, TabularInline

from config.permissions import FIELD_PERMISSIONS, TRANSITION_PERMISSIONS
from core.admin import (
    BigListMixin,
    KnownValuesFilter,
    ReadOnlyAdmin,
    ReadOnlyInlineMixin,
    SaveOnlyWhatCanChange,
    action_form,
    badge,
    money_display,
    posted,
)
from core.errors import ApplicationError
from core.paginator import EstimatedCountPaginator
from inventory.models import Product, Warehouse

from . import returns, services
from .models import (
    BackOrder,
    BlockedCustomer,
    Coupon,
    IdempotencyKey,
    Order,
    OrderEdit,
    OrderItem,
    OrderStatus,
    Return,
    ReturnLine,
    ReturnStatus,
    ReviewStatus,
    StorefrontKey,
)
from .selectors import order_search, order_timeline

# Transitions staff may take from the order page, each through its service.
ADMIN_TRANSITIONS = {
    "cancel": (services.order_cancel, _("Cancel order")),
    "release_review": (services.order_release_review, _("Release from review")),
    "start_processing": (services.order_start_processing, _("Start processing")),
}
REASON_REQUIRED = {"cancel"}  # destructive: staff say why, and it stays in the timeline

STATUS_COLOURS = {
    OrderStatus.PENDING: "warning",
    OrderStatus.CONFIRMED: "info",
    OrderStatus.PROCESSING: "info",
    OrderStatus.PENDING_RESTOCK: "warning",
    OrderStatus.SHIPPED: "primary",
    OrderStatus.DELIVERED: "success",
    OrderStatus.COMPLETED: "success",
    OrderStatus.CANCELLED: "danger",
    OrderStatus.CLOSED: "danger",
    OrderStatus.REFUNDED: "danger",
}
PAYMENT_COLOURS = {"pending": "warning", "paid": "success", "failed": "danger", "refunded": "danger"}
SHIPPING_COLOURS = {
    "unfulfilled": "",
    "picking": "info",
    "packed": "info",
    "shipped": "primary",
    "in_transit": "primary",
    "delivered": "success",
    "exception": "danger",
}


class TransitionForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, reason_required: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = reason_required


class CommentForm(forms.Form):
    text = forms.CharField(label=_("Comment"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4}))


def _flat(row):
    return row if isinstance(row, tuple | list) else (row,)


@dataclass(frozen=True)
class OrderPagePart:
    """What an app built on orders adds to the order page, registered from its own admin module with
    `order_page_add` (payments: its inline, "Mark paid"). `permission` gates the part's actions and links;
    its views check their own permission on the server."""

    inlines: Sequence[type[InlineModelAdmin]] = ()
    actions: Sequence[Callable] = ()  # admin actions: action(model_admin, request, queryset)
    urls: Callable[[ModelAdmin], list[URLPattern]] | None = None
    links: Callable[[HttpRequest, Order], list[tuple[str, str]]] | None = None  # (url, label) on the page
    search_fields: Sequence[str] = ()  # e.g. "=payments__reference": found from the order list's search
    permission: str = ""


ORDER_PAGE_PARTS: list[OrderPagePart] = []


def order_page_add(part: OrderPagePart) -> None:
    ORDER_PAGE_PARTS.append(part)


class OrderItemInline(ReadOnlyInlineMixin, TabularInline):
    model = OrderItem
    fields = ["sku", "name", "quantity", "unit_price", "total_price"]
    readonly_fields = fields


class OrderEditInline(ReadOnlyInlineMixin, TabularInline):
    model = OrderEdit
    fields = ["created_at", "field_label", "old_value", "new_value", "actor"]
    readonly_fields = fields

    @admin.display(description=_("field"))
    def field_label(self, edit):
        return edit.field_label


class OrderContactForm(forms.ModelForm):
    """The order's change form: customer details are checked by the service's own rules."""

    def clean(self):
        data = super().clean()
        changes = {f: data[f] for f in self.changed_data if f in data}
        try:
            self.cleaned_changes = services.order_contact_check(order=self.instance, changes=changes)
        except ApplicationError as exc:
            for field, messages_ in exc.extra.get("errors", {}).items():
                self.add_error(field if field in self.fields else None, messages_)
        return data


class CurrencyFilter(KnownValuesFilter):
    """The catalogue's currencies (a few thousand products), not a DISTINCT over every order."""

    title = _("currency")
    field = "currency"

    def lookups(self, request, model_admin):
        return [(c, c) for c in Product.objects.order_by("currency").values_list("currency", flat=True).distinct()]


@admin.register(Order)
class OrderAdmin(SaveOnlyWhatCanChange, ModelAdmin):
    list_display = [
        "number",
        "created_at",
        "customer_name",
        "status_badge",
        "payment_badge",
        "shipping_badge",
        "total_display",
    ]
    # Dates by the built-in choices (today, past 7 days, this month, this year): a date hierarchy lists the years
    # with orders by a DISTINCT over every order.
    list_filter = [
        "status",
        "payment_status",
        "shipping_status",
        "review_status",
        "shipping_method",
        CurrencyFilter,
        "created_at",
    ]
    # Staff type what the customer says: a name (李伟), part of a number, an e-mail, a phone; tracking numbers
    # and payment references through the related rows.
    search_fields = ["number", "customer_name", "customer_email", "customer_phone", "=customer_id"]
    search_help_text = _("Order number or part of it, customer name, e-mail, phone, payment reference, tracking number")
    list_per_page = 50
    show_full_result_count = False
    paginator = EstimatedCountPaginator  # no COUNT(*) over a million orders
    form = OrderContactForm
    actions = ["cancel_selected", "release_selected", "export_csv"]
    readonly_fields = [
        "number",
        "status_badge",
        "payment_badge",
        "shipping_badge",
        "review_status",
        "customer_id",
        "currency",
        "subtotal_display",
        "shipping_display",
        "tax_display",
        "discount_display",
        "total_display",
        "coupon",
        "shipping_method",
        "source",
        "reservation_expires_at",
        "created_at",
        "updated_at",
        "note",
    ]
    change_form_after_template = "admin/orders/order/timeline.html"  # below the items, payments, parcels
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "number",
                    ("status_badge", "payment_badge", "shipping_badge", "review_status"),
                    ("created_at", "updated_at", "reservation_expires_at"),
                    "source",
                ]
            },
        ),
        (
            _("Customer"),
            {
                "fields": [
                    "customer_id",
                    "customer_name",
                    "customer_email",
                    "customer_phone",
                    "street",
                    "city",
                    "province",
                    "postal_code",
                    "country",
                    "note",
                ]
            },
        ),
        (
            _("Amounts"),
            {
                "fields": [
                    "currency",
                    "subtotal_display",
                    "shipping_display",
                    "discount_display",
                    "tax_display",
                    "total_display",
                    "coupon",
                    "shipping_method",
                ]
            },
        ),
    ]

    def get_fieldsets(self, request, obj=None):
        """The reservation's expiry matters only while the order waits for its payment."""
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and obj.status != OrderStatus.PENDING:
            first = dict(fieldsets[0][1])
            first["fields"] = [
                tuple(f for f in row if f != "reservation_expires_at") if isinstance(row, tuple) else row
                for row in first["fields"]
            ]
            fieldsets = [(fieldsets[0][0], first), *fieldsets[1:]]
        return fieldsets

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("coupon")

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, order):
        return badge(order.get_status_display(), STATUS_COLOURS.get(order.status, ""))

    @admin.display(description=_("payment"), ordering="payment_status")
    def payment_badge(self, order):
        return badge(order.get_payment_status_display(), PAYMENT_COLOURS.get(order.payment_status, ""))

    @admin.display(description=_("shipping"), ordering="shipping_status")
    def shipping_badge(self, order):
        return badge(order.get_shipping_status_display(), SHIPPING_COLOURS.get(order.shipping_status, ""))

    def has_add_permission(self, request):
        return False  # orders come from the storefront API

    # --- what the apps built on orders add (ORDER_PAGE_PARTS) ---------------------------------
    def _parts(self, request):
        return [p for p in ORDER_PAGE_PARTS if not p.permission or request.user.has_perm(p.permission)]

    def get_search_fields(self, request):
        return [*self.search_fields, *(f for part in ORDER_PAGE_PARTS for f in part.search_fields)]

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return order_search(queryset, search_term, self.get_search_fields(request)), False

    def get_inlines(self, request, obj):
        contributed = [inline for part in ORDER_PAGE_PARTS for inline in part.inlines]
        return [OrderItemInline, *contributed, OrderEditInline]

    def get_actions(self, request):
        actions = super().get_actions(request)
        if IS_POPUP_VAR not in request.GET:
            for part in self._parts(request):
                for action in part.actions:
                    actions[action.__name__] = (action, action.__name__, action.short_description)
        return actions

    def get_readonly_fields(self, request, obj=None):
        """Only fields whose permission the user holds are editable (config.permissions.FIELD_PERMISSIONS)."""
        editable = {
            field
            for codename, fields in FIELD_PERMISSIONS["orders.order"].items()
            if request.user.has_perm(f"orders.{codename}")
            for field in fields
        }
        every = [f for _name, options in self.fieldsets for row in options["fields"] for f in _flat(row)]
        return [*self.readonly_fields, *(f for f in every if f not in editable and f not in self.readonly_fields)]

    def save_model(self, request, obj, form, change):
        """Customer details change through the service, which records each edit with the user."""
        services.order_update_contact(number=obj.number, changes=form.cleaned_changes, actor=request.user)

    def has_delete_permission(self, request, obj=None):
        return False  # an order is never deleted; it is cancelled

    def has_export_permission(self, request):
        return request.user.has_perm("orders.export_order")

    def has_cancel_permission(self, request):
        return request.user.has_perm("orders.cancel_order")

    def has_review_permission(self, request):
        return request.user.has_perm("orders.review_order")

    @admin.display(description=_("held"), boolean=True, ordering="review_status")
    def held(self, order):
        return order.review_status == ReviewStatus.HELD

    @admin.display(description=_("total"), ordering="total")
    def total_display(self, order):
        return money_display(order.total, order.currency)

    @admin.display(description=_("subtotal"))
    def subtotal_display(self, order):
        return money_display(order.subtotal, order.currency)

    @admin.display(description=_("shipping"))
    def shipping_display(self, order):
        return money_display(order.shipping, order.currency)

    @admin.display(description=_("tax"))
    def tax_display(self, order):
        return money_display(order.tax, order.currency)

    @admin.display(description=_("discount"))
    def discount_display(self, order):
        return money_display(order.discount, order.currency)

    # --- transitions on the order page --------------------------------------------------------
    def get_urls(self):
        return [
            path(
                "<int:pk>/transition/<str:name>/",
                self.admin_site.admin_view(self.transition_view),
                name="orders_order_transition",
            ),
            path("<int:pk>/comment/", self.admin_site.admin_view(self.comment_view), name="orders_order_comment"),
            *(url for part in ORDER_PAGE_PARTS if part.urls for url in part.urls(self)),
            *super().get_urls(),
        ]

    def available_transitions(self, request, order):
        """The admin transitions this user may take now: state allows it and the user holds its permission."""
        names = {
            t.name
            for field in ("status", "review_status")
            for t in getattr(order, f"get_available_user_{field}_transitions")(request.user)
        }
        return [(name, label) for name, (_service, label) in ADMIN_TRANSITIONS.items() if name in names]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        order = self.get_object(request, object_id)
        if order is not None and self.has_view_permission(request, order):
            extra_context["transitions"] = [
                (reverse("admin:orders_order_transition", args=[order.pk, name]), label)
                for name, label in self.available_transitions(request, order)
            ]
            extra_context["timeline"] = order_timeline(order=order)
            extra_context["links"] = [
                link for part in self._parts(request) if part.links for link in part.links(request, order)
            ] + [(reverse("admin:orders_order_comment", args=[order.pk]), _("Add comment"))]
        return super().change_view(request, object_id, form_url, extra_context)

    def transition_view(self, request, pk, name):
        """A confirmation page (GET) for a transition, with its reason (required to cancel); POST takes it."""
        order = get_object_or_404(Order, pk=pk)
        if name not in ADMIN_TRANSITIONS or not self.has_view_permission(request, order):
            raise PermissionDenied
        service, label = ADMIN_TRANSITIONS[name]
        if not request.user.has_perm(f"orders.{TRANSITION_PERMISSIONS['orders.order'][name]}"):
            raise PermissionDenied  # checked first: a hand-built request learns nothing more

        def take(data):
            service(number=order.number, actor=request.user, reason=data["reason"], check_permission=True)
            return _("%(action)s: done for %(order)s.") % {"action": label, "order": order.number}

        return action_form(
            self,
            request,
            obj=order,
            form=TransitionForm(posted(request), reason_required=name in REASON_REQUIRED),
            title=_("%(action)s — %(order)s") % {"action": label, "order": order.number},
            perform=take,
            refused=_("%(action)s refused for %(order)s: %(detail)s"),
            refused_args={"action": label, "order": order.number},
            done_url=reverse("admin:orders_order_change", args=[pk]),
        )

    def comment_view(self, request, pk):
        """Any staff member who can see the order may leave an internal note on it."""
        order = get_object_or_404(Order, pk=pk)
        if not self.has_view_permission(request, order):
            raise PermissionDenied

        def comment(data):
            services.order_comment_add(number=order.number, text=data["text"], actor=request.user)
            return _("Comment added to %(order)s.") % {"order": order.number}

        return action_form(
            self,
            request,
            obj=order,
            form=CommentForm(posted(request)),
            title=_("Comment on %(order)s") % {"order": order.number},
            perform=comment,
            refused=_("Refused: %(detail)s"),
            done_url=reverse("admin:orders_order_change", args=[pk]),
        )

    # --- bulk actions -------------------------------------------------------------------------
    def _bulk(self, request, queryset, service, label):
        done, refused = [], []
        for number in queryset.values_list("number", flat=True):
            try:
                service(number=number, actor=request.user, check_permission=True)
                done.append(number)
            except ApplicationError as exc:
                refused.append(f"{number} ({exc.detail})")
        if done:
            self.message_user(
                request,
                _("%(action)s: %(count)d order(s) done.") % {"action": label, "count": len(done)},
                messages.SUCCESS,
            )
        if refused:
            self.message_user(
                request,
                _("%(action)s refused for: %(orders)s") % {"action": label, "orders": "; ".join(refused)},
                messages.ERROR,
            )

    @admin.action(description=_("Cancel selected orders (releases stock)"), permissions=["cancel"])
    def cancel_selected(self, request, queryset):
        self._bulk(request, queryset, services.order_cancel, _("Cancel"))

    @admin.action(description=_("Release selected orders from review"), permissions=["review"])
    def release_selected(self, request, queryset):
        self._bulk(request, queryset, services.order_release_review, _("Release from review"))

    @admin.action(description=_("Export selected orders as CSV (finance)"), permissions=["export"])
    def export_csv(self, request, queryset):
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="orders.csv"'
        writer = csv.writer(response)
        writer.writerow(
            [
                "number",
                "created_at",
                "status",
                "payment_status",
                "customer_id",
                "currency",
                "subtotal",
                "shipping",
                "tax",
                "discount",
                "total",
            ]
        )
        for o in queryset.order_by("created_at").iterator():
            writer.writerow(
                [
                    o.number,
                    o.created_at.isoformat(),
                    o.status,
                    o.payment_status,
                    o.customer_id,
                    o.currency,
                    o.subtotal,
                    o.shipping,
                    o.tax,
                    o.discount,
                    o.total,
                ]
            )
        return response


RETURN_COLOURS = {
    ReturnStatus.REQUESTED: "warning",
    ReturnStatus.APPROVED: "info",
    ReturnStatus.RECEIVED: "info",
    ReturnStatus.REFUNDED: "success",
    ReturnStatus.REJECTED: "danger",
    ReturnStatus.CANCELLED: "",
}
RETURN_PAGE_LINKS: list[Callable[[HttpRequest, Return], list[tuple[str, str]]]] = []


def return_page_link_add(links: Callable[[HttpRequest, Return], list[tuple[str, str]]]) -> None:
    """Apps above orders add their steps to the return page (payments: the refund)."""
    RETURN_PAGE_LINKS.append(links)


class ReturnLineInline(ReadOnlyInlineMixin, TabularInline):
    model = ReturnLine
    fields = ["sku", "quantity", "refund_amount", "restocked_to", "write_off_reason"]
    readonly_fields = fields


def receive_form(ret: Return, data=None) -> forms.Form:
    """One choice per line: restock into a warehouse, or write off (with a reason)."""
    warehouses = list(Warehouse.objects.filter(is_active=True).order_by("priority"))
    fields = {}
    for line in ret.lines.all():
        fields[f"line_{line.pk}"] = forms.ChoiceField(
            label=str(line),
            choices=[(str(w.pk), _("Restock into %(w)s") % {"w": w.name}) for w in warehouses]
            + [("write_off", _("Write off"))],
        )
        fields[f"why_{line.pk}"] = forms.CharField(
            label=_("Why written off (%(line)s)") % {"line": line}, max_length=255, required=False
        )
    return type("ReceiveForm", (forms.Form,), fields)(data)


@admin.register(Return)
class ReturnAdmin(SaveOnlyWhatCanChange, ModelAdmin):
    list_display = ["number", "order", "status_badge", "reason", "refund_display", "created_at"]
    list_filter = ["status", "reason"]
    list_select_related = ["order"]
    search_fields = ["=number", "=order__number", "order__customer_name"]
    readonly_fields = ["number", "order", "status_badge", "reason", "note", "refund_display", "decision", "created_at"]
    fields = readonly_fields
    inlines = [ReturnLineInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, ret):
        return badge(ret.get_status_display(), RETURN_COLOURS.get(ret.status, ""))

    @admin.display(description=_("refund amount"), ordering="refund_amount")
    def refund_display(self, ret):
        return money_display(ret.refund_amount, ret.order.currency)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/decide/<str:verdict>/", view(self.decide_view), name="orders_return_decide"),
            path("<int:pk>/receive/", view(self.receive_view), name="orders_return_receive"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        ret = self.get_object(request, object_id)
        if ret is not None:
            links = []
            if request.user.has_perm("orders.handle_return"):
                if ret.status == ReturnStatus.REQUESTED:
                    links += [
                        (reverse("admin:orders_return_decide", args=[ret.pk, "approve"]), _("Approve")),
                        (reverse("admin:orders_return_decide", args=[ret.pk, "reject"]), _("Reject")),
                    ]
                if ret.status == ReturnStatus.APPROVED:
                    links.append((reverse("admin:orders_return_receive", args=[ret.pk]), _("Record receipt")))
            links += [link for add in RETURN_PAGE_LINKS for link in add(request, ret)]
            extra_context["links"] = links
        return super().change_view(request, object_id, form_url, extra_context)

    def _get(self, request, pk):
        if not request.user.has_perm("orders.handle_return"):
            raise PermissionDenied
        return get_object_or_404(Return.objects.select_related("order"), pk=pk)

    def decide_view(self, request, pk, verdict):
        ret = self._get(request, pk)
        if verdict not in ("approve", "reject"):
            raise PermissionDenied
        approve = verdict == "approve"
        label = _("Approve") if approve else _("Reject")

        def decide(data):
            returns.return_decide(number=ret.number, approve=approve, actor=request.user, reason=data["reason"])
            return _("%(action)s: done for %(r)s.") % {"action": label, "r": ret.number}

        return action_form(
            self,
            request,
            obj=ret,
            form=TransitionForm(posted(request), reason_required=not approve),
            title=_("%(action)s — %(r)s") % {"action": label, "r": ret.number},
            perform=decide,
            refused=_("Refused: %(detail)s"),
            done_url=reverse("admin:orders_return_change", args=[pk]),
            details=[(_("Reason"), ret.get_reason_display()), (_("Customer's note"), ret.note or "—")],
        )

    def receive_view(self, request, pk):
        ret = self._get(request, pk)

        def receive(data):
            warehouses = {str(w.pk): w for w in Warehouse.objects.all()}
            lines = {
                line.pk: (warehouses.get(data[f"line_{line.pk}"]), data[f"why_{line.pk}"]) for line in ret.lines.all()
            }
            returns.return_receive(number=ret.number, lines=lines, actor=request.user)
            return _("Receipt recorded for %(r)s.") % {"r": ret.number}

        return action_form(
            self,
            request,
            obj=ret,
            form=receive_form(ret, posted(request)),
            title=_("Record receipt — %(r)s") % {"r": ret.number},
            perform=receive,
            refused=_("Refused: %(detail)s"),
            done_url=reverse("admin:orders_return_change", args=[pk]),
        )


@admin.register(BackOrder)
class BackOrderAdmin(ReadOnlyAdmin):
    """Paid orders waiting for stock, oldest first: receiving stock serves them in this order."""

    list_display = ["number", "customer_name", "items_display", "total_display", "backordered_at", "waited"]
    ordering = ["backordered_at", "id"]
    search_fields = ["number", "customer_name"]
    list_display_links = None
    actions = None

    def get_queryset(self, request):
        return super().get_queryset(request).filter(status=OrderStatus.PENDING_RESTOCK).prefetch_related("items")

    @admin.display(description=_("items"))
    def items_display(self, order):
        return ", ".join(f"{i.quantity} × {i.sku}" for i in order.items.all())

    @admin.display(description=_("total"), ordering="total")
    def total_display(self, order):
        return money_display(order.total, order.currency)

    @admin.display(description=_("waiting"), ordering="backordered_at")
    def waited(self, order):
        since = order.backordered_at or order.updated_at
        return timesince(since)


@admin.register(Coupon)
class CouponAdmin(ModelAdmin):
    list_display = [
        "code",
        "kind",
        "value",
        "min_subtotal",
        "valid_from",
        "valid_until",
        "used_count",
        "max_uses",
        "is_active",
    ]
    list_filter = ["kind", "is_active"]
    search_fields = ["code"]
    readonly_fields = ["used_count"]

    def save_model(self, request, obj, form, change):
        obj.code = obj.code.strip().upper()
        super().save_model(request, obj, form, change)


@admin.register(BlockedCustomer)
class BlockedCustomerAdmin(ModelAdmin):
    list_display = ["identifier", "reason", "created_at"]
    search_fields = ["identifier"]

    def save_model(self, request, obj, form, change):
        obj.identifier = obj.identifier.strip()
        if "@" in obj.identifier:
            obj.identifier = obj.identifier.lower()
        super().save_model(request, obj, form, change)


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(BigListMixin, ModelAdmin):
    list_display = ["key", "client", "order_number", "response_status", "created_at"]
    list_select_related = ["client"]
    list_filter = ["created_at"]
    search_fields = ["=key", "=order_number"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


admin.site.unregister(APIKey)  # the library's own model is unused: storefront keys are StorefrontKeys


@admin.register(StorefrontKey)
class StorefrontKeyAdmin(APIKeyModelAdmin, ModelAdmin):
    """Keys are shown once, when made; staff revoke a key (for good) or rotate it (revoke + a new key)."""

    list_display = ["prefix", "name", "client", "created", "expiry_date", "_has_expired", "revoked"]
    list_filter = ["revoked", "created"]
    list_select_related = ["client"]
    search_fields = ["name", "prefix", "client__username"]
    actions = ["rotate"]

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), *(["client"] if obj else [])]

    @admin.action(
        description=_("Rotate selected keys (revoke, and show each storefront a new key once)"), permissions=["change"]
    )
    def rotate(self, request, queryset):
        for key in queryset.filter(revoked=False).select_related("client"):
            _new_key, secret = services.storefront_key_rotate(key=key, actor=request.user)
            self.message_user(
                request,
                _("New key for %(storefront)s (shown only now): %(key)s") % {"storefront": key.name, "key": secret},
                messages.WARNING,
            )
