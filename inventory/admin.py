from functools import partial

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, F, OuterRef
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, TabularInline

from core.admin import BigListMixin, ReadOnlyAdmin, action_form, posted

from . import services
from .models import Product, Reservation, RestockAlert, StockItem, StockMovement, Warehouse
from .selectors import products_with_available

MOVE_STOCK = "inventory.move_stock"  # receive, move and count, Warehouse's


class NeedsReorderFilter(admin.SimpleListFilter):
    title = _("needs reorder")
    parameter_name = "needs_reorder"
    outer = "pk"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() not in ("yes", "no"):
            return queryset
        low = StockItem.objects.filter(**{self.outer: OuterRef("pk")}, on_hand__lte=F("reserved") + F("reorder_point"))
        condition = Exists(low)
        return queryset.filter(condition if self.value() == "yes" else ~condition)


class ProductNeedsReorderFilter(NeedsReorderFilter):
    outer = "product"


class StockItemNeedsReorderFilter(NeedsReorderFilter):
    outer = "pk"


@admin.register(Warehouse)
class WarehouseAdmin(ModelAdmin):
    def get_urls(self):
        view = self.admin_site.admin_view(self.delivery_view)
        return [path("<int:pk>/delivery/", view, name="inventory_warehouse_delivery"), *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        if request.user.has_perm(MOVE_STOCK):
            url = reverse("admin:inventory_warehouse_delivery", args=[object_id])
            extra_context["links"] = [(url, _("Receive a delivery"))]
        return super().change_view(request, object_id, form_url, extra_context)

    def delivery_view(self, request, pk):
        """A supplier's delivery, line by line, into this warehouse through the ledger."""
        if not request.user.has_perm(MOVE_STOCK):
            raise PermissionDenied
        warehouse = get_object_or_404(Warehouse, pk=pk)

        def receive(data):
            items = services.stock_receive_delivery(
                warehouse=warehouse, lines=data["lines"], reference=data["reference"], actor=request.user.get_username()
            )
            return _("Delivery %(ref)s received: %(n)d line(s).") % {"ref": data["reference"], "n": len(items)}

        return action_form(
            self,
            request,
            obj=warehouse,
            form=DeliveryForm(posted(request)),
            title=_("Receive a delivery into %(w)s") % {"w": warehouse.name},
            perform=receive,
            refused=_("Refused: %(detail)s"),
            done_url=reverse("admin:inventory_warehouse_change", args=[pk]),
        )

    list_display = ["code", "name", "city", "priority", "is_active"]
    list_editable = ["priority", "is_active"]
    search_fields = ["code", "name", "city"]
    fieldsets = [
        (None, {"fields": ["code", "name", "priority", "is_active", "usual_carrier"]}),
        (
            _("Ships from (sender on electronic waybills)"),
            {"fields": ["contact_name", "phone", "province", "city", "street"]},
        ),
    ]


class StockItemInline(TabularInline):
    model = StockItem
    extra = 0
    can_delete = False
    fields = ["warehouse", "location", "on_hand", "reserved", "available", "reorder_point"]
    readonly_fields = ["warehouse", "on_hand", "reserved", "available"]
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description=_("available"))
    def available(self, item):
        return item.available


@admin.register(Product)
class ProductAdmin(ModelAdmin):
    list_display = ["sku", "name", "price_display", "is_active", "status", "available", "max_quantity_per_order"]
    list_filter = ["is_active", "status", ProductNeedsReorderFilter, "currency"]
    search_fields = ["=sku", "name"]
    inlines = [StockItemInline]
    show_full_result_count = False

    def get_queryset(self, request):
        return products_with_available()

    @admin.display(description=_("price"), ordering="price")
    def price_display(self, product):
        return f"{product.price:,.2f} {product.currency}"

    @admin.display(description=_("available"), ordering="available")
    def available(self, product):
        return product.available


class ReceiveForm(forms.Form):
    quantity = forms.IntegerField(label=_("Units received"), min_value=1, max_value=1_000_000)
    reference = forms.CharField(label=_("Supplier reference"), max_length=100, help_text=_("Delivery note or PO"))
    note = forms.CharField(label=_("Note"), max_length=255, required=False)

    def __init__(self, *args, item, **kwargs):
        super().__init__(*args, **kwargs)


class TransferForm(forms.Form):
    to_warehouse = forms.ModelChoiceField(label=_("To warehouse"), queryset=Warehouse.objects.none())
    quantity = forms.IntegerField(label=_("Units"), min_value=1, max_value=1_000_000)
    reason = forms.CharField(label=_("Reason"), max_length=255)

    def __init__(self, *args, item, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_warehouse"].queryset = Warehouse.objects.filter(is_active=True).exclude(pk=item.warehouse_id)


class CountForm(forms.Form):
    counted = forms.IntegerField(label=_("Units counted on the shelf"), min_value=0, max_value=1_000_000)
    reason = forms.CharField(label=_("Reason"), max_length=255, help_text=_("Stocktake, damage, found…"))

    def __init__(self, *args, item, **kwargs):
        super().__init__(*args, **kwargs)


def _receive(item, data, actor):
    item = services.stock_receive(
        stock_item=item, quantity=data["quantity"], actor=actor, reference=data["reference"], note=data["note"]
    )
    return _("Received %(n)d: %(item)s now has %(on_hand)d on hand.") % {
        "n": data["quantity"],
        "item": item,
        "on_hand": item.on_hand,
    }


def _transfer(item, data, actor):
    _source, target = services.stock_transfer(
        stock_item=item,
        to_warehouse=data["to_warehouse"],
        quantity=data["quantity"],
        actor=actor,
        reason=data["reason"],
    )
    return _("Moved %(n)d to %(target)s.") % {"n": data["quantity"], "target": target}


def _count(item, data, actor):
    item = services.stock_adjust(
        stock_item=item, delta=data["counted"] - item.on_hand, actor=actor, reason=data["reason"]
    )
    return _("Counted: %(item)s now has %(on_hand)d on hand.") % {"item": item, "on_hand": item.on_hand}


class DeliveryForm(forms.Form):
    reference = forms.CharField(label=_("Supplier reference"), max_length=100, help_text=_("Delivery note or PO"))
    lines = forms.CharField(
        label=_("Lines"),
        widget=forms.Textarea(attrs={"rows": 8, "placeholder": "TEA-SET-01 12\nGAIWAN-WHT 30"}),
        help_text=_("One line per product: the SKU, a space, the units received (scan or paste the delivery note)."),
    )

    def clean_lines(self):
        """'SKU quantity' per line → [(product, quantity)], every SKU known, every quantity a whole number."""
        wanted, errors = {}, []
        for number, raw in enumerate(self.cleaned_data["lines"].splitlines(), start=1):
            parts = raw.split()
            if not parts:
                continue
            if len(parts) != 2 or not parts[1].isdigit() or not 0 < int(parts[1]) <= 1_000_000:
                errors.append(_("Line %(n)d: write the SKU and a number of units.") % {"n": number})
                continue
            wanted[parts[0]] = wanted.get(parts[0], 0) + int(parts[1])
        products = {p.sku: p for p in Product.objects.filter(sku__in=wanted)}
        errors += [_("Unknown SKU %(sku)s.") % {"sku": sku} for sku in wanted if sku not in products]
        if errors or not wanted:
            raise forms.ValidationError(errors or [_("Write at least one line.")])
        return [(products[sku], quantity) for sku, quantity in wanted.items()]


STOCK_ACTIONS = {
    "receive": (_("Receive stock"), ReceiveForm, _receive),
    "transfer": (_("Move to another warehouse"), TransferForm, _transfer),
    "count": (_("Count correction"), CountForm, _count),
}


@admin.register(StockItem)
class StockItemAdmin(ModelAdmin):
    list_display = [
        "product",
        "warehouse",
        "location",
        "on_hand",
        "reserved",
        "available",
        "reorder_point",
        "needs_reorder",
    ]
    list_filter = ["warehouse", StockItemNeedsReorderFilter]
    list_select_related = ["product", "warehouse"]
    search_fields = ["=product__sku", "product__name", "location"]
    fields = ["product", "warehouse", "location", "reorder_point", "on_hand", "reserved"]
    readonly_fields = ["product", "warehouse", "on_hand", "reserved"]

    def has_add_permission(self, request):
        return False  # stock rows appear through the catalogue import and the ledger

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("available"))
    def available(self, item):
        return item.available

    # --- receive, move and count: each through the ledger, each a page of its own ------------------
    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(f"<int:pk>/{name}/", view(partial(self.stock_view, name=name)), name=f"inventory_stockitem_{name}")
            for name in STOCK_ACTIONS
        ] + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        if request.user.has_perm(MOVE_STOCK):
            extra_context["links"] = [
                (reverse(f"admin:inventory_stockitem_{name}", args=[object_id]), label)
                for name, (label, _form, _perform) in STOCK_ACTIONS.items()
            ]
        return super().change_view(request, object_id, form_url, extra_context)

    def stock_view(self, request, pk, name):
        if not request.user.has_perm(MOVE_STOCK):
            raise PermissionDenied
        item = get_object_or_404(StockItem.objects.select_related("product", "warehouse"), pk=pk)
        label, form_class, perform = STOCK_ACTIONS[name]
        return action_form(
            self,
            request,
            obj=item,
            form=form_class(posted(request), item=item),
            title=_("%(action)s — %(item)s") % {"action": label, "item": item},
            perform=lambda data: perform(item, data, request.user.get_username()),
            refused=_("Refused: %(detail)s"),
            done_url=reverse("admin:inventory_stockitem_change", args=[pk]),
            details=[(_("On hand"), item.on_hand), (_("Reserved"), item.reserved), (_("Available"), item.available)],
        )

    @admin.display(description=_("needs reorder"), boolean=True)
    def needs_reorder(self, item):
        return item.available <= item.reorder_point


@admin.register(StockMovement)
class StockMovementAdmin(BigListMixin, ReadOnlyAdmin):
    list_display = [
        "created_at",
        "stock_item",
        "kind",
        "quantity",
        "on_hand_delta",
        "reserved_delta",
        "reference",
        "actor",
        "note",
    ]
    list_filter = ["kind", "stock_item__warehouse", "created_at"]
    list_select_related = ["stock_item__product", "stock_item__warehouse"]
    search_fields = ["=reference", "=stock_item__product__sku", "actor"]


@admin.register(Reservation)
class ReservationAdmin(BigListMixin, ReadOnlyAdmin):
    list_display = ["holder", "stock_item", "quantity", "state", "expires_at", "created_at"]
    list_filter = ["state", "stock_item__warehouse"]
    list_select_related = ["stock_item__product", "stock_item__warehouse"]
    search_fields = ["=holder", "=stock_item__product__sku"]
    ordering = ["-id"]  # the newest first, on the primary key: a sort by created_at read every reservation


@admin.register(RestockAlert)
class RestockAlertAdmin(ModelAdmin):
    list_display = ["created_at", "stock_item", "available", "reorder_point", "reference", "acknowledged"]
    list_filter = ["acknowledged", "stock_item__warehouse"]
    list_select_related = ["stock_item__product", "stock_item__warehouse"]
    search_fields = ["=stock_item__product__sku"]
    readonly_fields = ["stock_item", "available", "reorder_point", "reference", "created_at"]
    actions = ["acknowledge"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Mark selected alerts as acknowledged"), permissions=["change"])
    def acknowledge(self, request, queryset):
        count = queryset.filter(acknowledged=False).update(acknowledged=True)
        self.message_user(request, _("%(count)d alert(s) acknowledged.") % {"count": count}, messages.SUCCESS)
