"""The warehouse works here: shipments by priority, picking lists, pick → pack → ship.
Every step re-checks its permission on the server and runs through a service."""

from functools import partial

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action

from core.admin import (
    BigListMixin,
    ReadOnlyAdmin,
    ReadOnlyInlineMixin,
    SaveOnlyWhatCanChange,
    TransitionLogInline,
    action_form,
    badge,
    money_display,
    posted,
)
from core.errors import ApplicationError
from core.fsm import TransitionPermissionDenied
from orders.admin import OrderPagePart, order_page_add

from . import services
from .models import Carrier, Shipment, ShipmentAttention, ShipmentLine, ShipmentStatus, TrackingEvent
from .picking import parcel_labels_pdf, picking_lists_pdf
from .selectors import shipments_needing_attention


class ShipForm(forms.Form):
    carrier = forms.ChoiceField(label=_("Carrier"), choices=Carrier.choices)
    tracking_number = forms.CharField(
        label=_("Tracking number"),
        max_length=64,
        required=False,
        help_text=_("Leave empty to request an electronic waybill from the carrier."),
    )


class LineInline(ReadOnlyInlineMixin, TabularInline):
    model = ShipmentLine
    fields = ["location", "sku", "name", "quantity", "weight_grams", "fragile"]
    readonly_fields = fields


class EventInline(ReadOnlyInlineMixin, TabularInline):
    model = TrackingEvent
    fields = ["occurred_at", "status", "location", "description", "carrier_event_id"]
    readonly_fields = fields


class OrderShipmentInline(ReadOnlyInlineMixin, TabularInline):
    """The order page's parcels: where each is, with its carrier's tracking link and news, newest first."""

    model = Shipment
    fields = ["warehouse", "status", "carrier", "tracking", "shipped_at", "news"]
    readonly_fields = fields
    show_change_link = True
    verbose_name_plural = _("shipments and tracking")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("warehouse").prefetch_related("events")

    @admin.display(description=_("tracking number"))
    def tracking(self, shipment):
        if not shipment.tracking_number:
            return "—"
        if shipment.tracking_url:
            return format_html(
                '<a href="{}" target="_blank" rel="noopener">{}</a>', shipment.tracking_url, shipment.tracking_number
            )
        return shipment.tracking_number

    @admin.display(description=_("tracking news"))
    def news(self, shipment):
        events = sorted(shipment.events.all(), key=lambda e: e.occurred_at, reverse=True)
        if not events:
            return "—"
        return format_html_join(
            mark_safe("<br>"),
            "{} · {} {}",
            ((localtime(e.occurred_at).strftime("%m-%d %H:%M"), e.get_status_display(), e.location) for e in events),
        )


order_page_add(OrderPagePart(inlines=[OrderShipmentInline], search_fields=["=shipments__tracking_number"]))


SHIPMENT_COLOURS = {
    ShipmentStatus.PENDING: "warning",
    ShipmentStatus.PICKING: "info",
    ShipmentStatus.PACKED: "info",
    ShipmentStatus.SHIPPED: "primary",
    ShipmentStatus.IN_TRANSIT: "primary",
    ShipmentStatus.DELIVERED: "success",
    ShipmentStatus.EXCEPTION: "danger",
    ShipmentStatus.CANCELLED: "danger",
}
NEXT_STEP = {ShipmentStatus.PENDING: "start_picking", ShipmentStatus.PICKING: "pack", ShipmentStatus.PACKED: "ship"}
PICK_STEPS = {  # the warehouse's steps before shipping, each behind its own confirmation page
    "start_picking": (services.shipment_start_picking, _("Start picking")),
    "pack": (services.shipment_pack, _("Mark packed")),
}


def _shipment_details(shipment) -> list[tuple[str, str]]:
    """What the packer checks before the parcel goes: where to, how heavy, how many lines."""
    order = shipment.order
    lines = list(shipment.lines.all())
    grams = sum(line.weight_grams * line.quantity for line in lines)
    address = " ".join(p for p in (order.province, order.city, order.street, order.postal_code) if p)
    return [
        (_("Recipient"), f"{order.customer_name} · {order.customer_phone}"),
        (_("Address"), address),
        (_("Lines"), str(len(lines))),
        (_("Weight"), _("%(kg).2f kg") % {"kg": grams / 1000}),
        (_("Shipping method"), order.get_shipping_method_display()),
    ]


@admin.register(Shipment)
class ShipmentAdmin(BigListMixin, SaveOnlyWhatCanChange, ModelAdmin):
    list_display = [
        "__str__",
        "order",
        "warehouse",
        "status_badge",
        "priority_display",
        "line_count",
        "carrier",
        "tracking_number",
        "created_at",
    ]
    actions_row = ["next_step"]
    list_filter = ["status", "warehouse", "carrier"]
    list_select_related = ["order", "warehouse"]
    search_fields = ["=order__number", "=tracking_number"]  # what a scanner types
    search_help_text = _("Scan or type an order number or a tracking number")
    ordering = ["-priority", "created_at"]
    readonly_fields = [
        "order",
        "warehouse",
        "status_badge",
        "priority_display",
        "carrier",
        "tracking_number",
        "tracking_url",
        "estimated_delivery",
        "shipped_at",
        "delivered_at",
        "check_count",
        "next_check_at",
        "last_event_at",
        "label",
        "created_at",
    ]
    exclude = ["status", "priority"]  # shown as the badge and the readable priority; never edited by hand
    inlines = [LineInline, EventInline, TransitionLogInline]
    actions = ["start_picking", "pack", "print_picking_lists", "print_labels"]

    def get_queryset(self, request):
        # Counted for the page's rows only (a subquery each): a GROUP BY would count every parcel's lines before
        # the page is sorted out of them (5 s at a million parcels).
        lines = ShipmentLine.objects.filter(shipment=OuterRef("pk")).order_by().values("shipment")
        return (
            super()
            .get_queryset(request)
            .annotate(n_lines=Coalesce(Subquery(lines.annotate(n=Count("pk")).values("n")), 0))
        )

    @admin.display(description=_("lines"), ordering="n_lines")
    def line_count(self, shipment):
        return shipment.n_lines

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, shipment):
        return badge(shipment.get_status_display(), SHIPMENT_COLOURS.get(shipment.status, ""))

    @admin.display(description=_("priority"), ordering="-priority")
    def priority_display(self, shipment):
        """Why it comes first: express, the order's value, how long it has waited."""
        order = shipment.order
        hours = int((timezone.now() - order.created_at).total_seconds() // 3600)
        return _("%(method)s · %(total)s · waiting %(hours)d h") % {
            "method": order.get_shipping_method_display(),
            "total": money_display(order.total, order.currency),
            "hours": hours,
        }

    # --- the warehouse's next step, from the shipment page or its row --------------------------
    def _next_step(self, shipment):
        return NEXT_STEP.get(shipment.status)

    @action(description=_("Next step"), url_path="next-step", permissions=["pick"])
    def next_step(self, request, object_id):
        shipment = get_object_or_404(Shipment, pk=object_id)
        step = self._next_step(shipment)
        if step is None:
            self.message_user(request, _("Nothing to do for %(s)s now.") % {"s": shipment}, messages.INFO)
            return HttpResponseRedirect(reverse("admin:fulfillment_shipment_changelist"))
        return HttpResponseRedirect(reverse(f"admin:fulfillment_shipment_{step}", args=[shipment.pk]))

    def step_view(self, request, pk, service, label, permission):
        if not request.user.has_perm(permission):
            raise PermissionDenied
        shipment = get_object_or_404(Shipment.objects.select_related("order", "warehouse"), pk=pk)

        def take(data):
            done = service(shipment_id=pk, actor=request.user, check_permission=True)
            return _("%(action)s: %(s)s.") % {"action": label, "s": done}

        return action_form(
            self,
            request,
            obj=shipment,
            form=forms.Form(posted(request)),
            title=_("%(action)s — %(s)s") % {"action": label, "s": shipment},
            perform=take,
            refused=_("%(action)s refused for %(s)s: %(detail)s"),
            refused_args={"action": label, "s": shipment},
            done_url=reverse("admin:fulfillment_shipment_change", args=[pk]),
            details=_shipment_details(shipment),
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_pick_permission(self, request):
        return request.user.has_perm("fulfillment.pick_shipment")

    def has_ship_permission(self, request):
        return request.user.has_perm("fulfillment.ship_shipment")

    def has_print_permission(self, request):
        return request.user.has_perm("fulfillment.print_shipment")

    def _bulk(self, request, queryset, service, label):
        done, refused = 0, []
        for pk in queryset.values_list("pk", flat=True):
            try:
                service(shipment_id=pk, actor=request.user, check_permission=True)
                done += 1
            except TransitionPermissionDenied as exc:
                raise PermissionDenied from exc
            except ApplicationError as exc:
                refused.append(f"S{pk} ({exc.detail})")
        if done:
            self.message_user(
                request, _("%(action)s: %(count)d shipment(s).") % {"action": label, "count": done}, messages.SUCCESS
            )
        if refused:
            self.message_user(
                request,
                _("%(action)s refused for: %(list)s") % {"action": label, "list": "; ".join(refused)},
                messages.ERROR,
            )

    @admin.action(description=_("Start picking"), permissions=["pick"])
    def start_picking(self, request, queryset):
        self._bulk(request, queryset, services.shipment_start_picking, _("Picking started"))

    @admin.action(description=_("Mark packed"), permissions=["pick"])
    def pack(self, request, queryset):
        self._bulk(request, queryset, services.shipment_pack, _("Packed"))

    @admin.action(description=_("Print picking lists (PDF)"), permissions=["print"])
    def print_picking_lists(self, request, queryset):
        return _pdf(picking_lists_pdf(self._printable(queryset)), "picking-lists.pdf")

    @admin.action(description=_("Print parcel labels (PDF)"), permissions=["print"])
    def print_labels(self, request, queryset):
        shipments = self._printable(queryset.exclude(tracking_number=""))
        if not shipments:
            self.message_user(request, _("None of these shipments has a tracking number yet."), messages.WARNING)
            return None
        return _pdf(parcel_labels_pdf(shipments), "parcel-labels.pdf")

    def _printable(self, queryset):
        """In the warehouse's working order, with everything a page needs in three queries."""
        return list(
            queryset.select_related("order", "warehouse").prefetch_related("lines").order_by("-priority", "created_at")
        )

    def get_urls(self):
        view = self.admin_site.admin_view
        info = f"{self.opts.app_label}_{self.opts.model_name}"  # the attention list has its own names
        return [
            path("<int:pk>/ship/", view(self.ship_view), name=f"{info}_ship"),
            *(
                path(
                    f"<int:pk>/{step.replace('_', '-')}/",
                    view(partial(self.step_view, service=service, label=label, permission="fulfillment.pick_shipment")),
                    name=f"{info}_{step}",
                )
                for step, (service, label) in PICK_STEPS.items()
            ),
            path("<int:pk>/picking-list/", view(self.picking_list_view), name=f"{info}_picking_list"),
            path("<int:pk>/picking-list.pdf", view(self.picking_pdf_view), name=f"{info}_picking_pdf"),
            path("<int:pk>/label.pdf", view(self.label_pdf_view), name=f"{info}_label_pdf"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        printer = self.has_print_permission(request)
        links = (
            [
                (reverse("admin:fulfillment_shipment_picking_list", args=[object_id]), _("Print picking list")),
                (reverse("admin:fulfillment_shipment_picking_pdf", args=[object_id]), _("Picking list PDF")),
            ]
            if printer
            else []
        )
        shipment = self.get_object(request, object_id)
        pickable = shipment is not None and shipment.status in (ShipmentStatus.PENDING, ShipmentStatus.PICKING)
        if pickable and self.has_pick_permission(request):
            step = self._next_step(shipment)
            links.insert(0, (reverse(f"admin:fulfillment_shipment_{step}", args=[object_id]), PICK_STEPS[step][1]))
        if shipment is not None and shipment.status == ShipmentStatus.PACKED and self.has_ship_permission(request):
            links.insert(0, (reverse("admin:fulfillment_shipment_ship", args=[object_id]), _("Ship")))
        if shipment is not None and shipment.tracking_number and printer:
            links.append((reverse("admin:fulfillment_shipment_label_pdf", args=[object_id]), _("Parcel label PDF")))
        extra_context["links"] = links
        return super().change_view(request, object_id, form_url, extra_context)

    def ship_view(self, request, pk):
        if not self.has_ship_permission(request):
            raise PermissionDenied
        shipment = get_object_or_404(Shipment.objects.select_related("order", "warehouse"), pk=pk)

        def ship(data):
            shipped = services.shipment_ship(shipment_id=pk, actor=request.user, check_permission=True, **data)
            return _("Shipped with %(carrier)s, tracking %(number)s.") % {
                "carrier": shipped.get_carrier_display(),
                "number": shipped.tracking_number,
            }

        return action_form(
            self,
            request,
            obj=shipment,
            form=ShipForm(posted(request), initial={"carrier": shipment.warehouse.usual_carrier or Carrier.SANDBOX}),
            title=_("Ship %(s)s") % {"s": shipment},
            perform=ship,
            refused=_("Not shipped: %(detail)s"),
            done_url=reverse("admin:fulfillment_shipment_change", args=[pk]),
            details=_shipment_details(shipment),
        )

    def _printable_one(self, request, pk):
        if not self.has_print_permission(request):
            raise PermissionDenied
        return get_object_or_404(Shipment.objects.select_related("order", "warehouse"), pk=pk)

    def picking_list_view(self, request, pk):
        shipment = self._printable_one(request, pk)
        return TemplateResponse(
            request,
            "fulfillment/picking_list.html",
            {"shipment": shipment, "order": shipment.order, "lines": shipment.lines.all()},
        )

    def picking_pdf_view(self, request, pk):
        shipment = self._printable_one(request, pk)
        return _pdf(picking_lists_pdf([shipment]), f"picking-{shipment.order.number}-S{shipment.pk}.pdf")

    def label_pdf_view(self, request, pk):
        shipment = self._printable_one(request, pk)
        if not shipment.tracking_number:
            raise Http404(_("The shipment has no tracking number yet: ship it first."))
        return _pdf(parcel_labels_pdf([shipment]), f"label-{shipment.tracking_number}.pdf")


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@admin.register(ShipmentAttention)
class ShipmentAttentionAdmin(ShipmentAdmin):
    """In exception, or shipped with no tracking news for SHIPMENT_STALE_HOURS."""

    actions = []

    def get_queryset(self, request):
        return shipments_needing_attention(super().get_queryset(request))


@admin.register(TrackingEvent)
class TrackingEventAdmin(BigListMixin, ReadOnlyAdmin):
    list_display = ["occurred_at", "shipment", "status", "location", "description", "recorded_at"]
    ordering = ["-id"]  # the newest recorded first, on the primary key: a sort by time read every event
    list_filter = ["status"]
    list_select_related = ["shipment"]
    search_fields = ["=shipment__tracking_number", "=shipment__order__number"]
