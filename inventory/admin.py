from django.contrib import admin, messages
from django.db.models import Exists, F, OuterRef
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, TabularInline

from core.admin import ReadOnlyAdmin

from .models import Product, Reservation, RestockAlert, StockItem, StockMovement, Warehouse
from .selectors import products_with_available


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

    @admin.display(description=_("needs reorder"), boolean=True)
    def needs_reorder(self, item):
        return item.available <= item.reorder_point


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
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
    list_filter = ["kind", "stock_item__warehouse"]
    list_select_related = ["stock_item__product", "stock_item__warehouse"]
    search_fields = ["=reference", "=stock_item__product__sku", "actor"]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdmin):
    list_display = ["holder", "stock_item", "quantity", "state", "expires_at", "created_at"]
    list_filter = ["state", "stock_item__warehouse"]
    list_select_related = ["stock_item__product", "stock_item__warehouse"]
    search_fields = ["=holder", "=stock_item__product__sku"]
    show_full_result_count = False


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
