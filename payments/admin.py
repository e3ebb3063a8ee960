"""Finance works here: reconcile by hand, refund, replay callbacks, and clear the attention list.
Each action re-checks its permission on the server and runs through a service."""

from functools import partial

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, TabularInline

from core.admin import (
    BigListMixin,
    ReadOnlyAdmin,
    ReadOnlyInlineMixin,
    SaveOnlyWhatCanChange,
    TransitionLogInline,
    action_form,
    money_display,
    posted,
)
from core.errors import ApplicationError
from orders.admin import CurrencyFilter, OrderPagePart, order_page_add, return_page_link_add
from orders.models import Order, Return, ReturnStatus

from . import services
from .forms import MarkPaidForm, RefundForm
from .models import Payment, PaymentAttention, PaymentEvent, PaymentStatus, Refund, SettlementImport
from .selectors import late_payments, payments_needing_attention
from .settlement import settlement_import


class PaymentInline(ReadOnlyInlineMixin, TabularInline):
    model = Payment
    fields = ["reference", "gateway", "bank_reference", "amount_display", "status", "refunds", "paid_at", "attention"]
    readonly_fields = fields
    show_change_link = True
    verbose_name_plural = _("payments")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("refunds")

    @admin.display(description=_("gateway or bank reference"))
    def bank_reference(self, payment):
        return payment.gateway_txn_id or "—"

    @admin.display(description=_("amount"))
    def amount_display(self, payment):
        return money_display(payment.amount, payment.currency)

    @admin.display(description=_("refunds"))
    def refunds(self, payment):
        rows = [
            f"{r.number} {money_display(r.amount, payment.currency)} ({r.get_status_display()})"
            for r in payment.refunds.all()
        ]
        return "; ".join(rows) or "—"


def _mark_paid_links(request, order):
    if not services.payment_can_mark_paid(order=order):
        return []
    return [(reverse("admin:orders_order_mark_paid", args=[order.pk]), _("Mark paid (manual reconciliation)"))]


def _refund_links(request, order):
    """Refund from the order page: one link per paid payment with something left to refund."""
    return [
        (reverse("admin:payments_payment_refund", args=[p.pk]), _("Refund %(payment)s") % {"payment": p.reference})
        for p in order.payments.filter(status=PaymentStatus.PAID)
        if p.amount > p.refunded_amount
    ]


@admin.action(description=_("Mark paid (manual reconciliation)"))
def mark_paid_action(model_admin, request, queryset):
    if queryset.count() != 1:
        model_admin.message_user(request, _("Select exactly one order to mark paid."), messages.WARNING)
        return None
    return HttpResponseRedirect(reverse("admin:orders_order_mark_paid", args=[queryset.get().pk]))


def _mark_paid_view(model_admin, request, pk):
    """Finance's manual reconciliation: the bank reference and amount of a transfer, through the service."""
    if not request.user.has_perm(RECONCILE):
        raise PermissionDenied
    order = get_object_or_404(Order, pk=pk)

    def mark_paid(data):
        services.payment_mark_paid_manually(order_number=order.number, user=request.user, **data)
        return _("Order %(order)s marked paid (%(ref)s).") % {"order": order.number, "ref": data["bank_reference"]}

    return action_form(
        model_admin,
        request,
        obj=order,
        form=MarkPaidForm(posted(request), total=order.total, initial={"amount": order.total}),
        title=_("Mark %(order)s paid — total %(total)s")
        % {"order": order.number, "total": money_display(order.total, order.currency)},
        perform=mark_paid,
        refused=_("Not marked paid: %(detail)s"),
        done_url=reverse("admin:orders_order_change", args=[pk]),
    )


def _mark_paid_urls(model_admin):
    view = model_admin.admin_site.admin_view(partial(_mark_paid_view, model_admin))
    return [path("<int:pk>/mark-paid/", view, name="orders_order_mark_paid")]


RECONCILE = "payments.reconcile_payment"

# The order page shows its payments; finance reconciles by hand from it.
order_page_add(
    OrderPagePart(
        inlines=[PaymentInline],
        search_fields=["=payments__reference", "=payments__gateway_txn_id"],
    )
)
order_page_add(OrderPagePart(links=_refund_links, permission="payments.refund_payment"))


def _return_refund_links(request, ret):
    if ret.status != ReturnStatus.RECEIVED or not request.user.has_perm("payments.refund_payment"):
        return []
    return [(reverse("admin:payments_payment_return_refund", args=[ret.number]), _("Refund the return"))]


return_page_link_add(_return_refund_links)
order_page_add(
    OrderPagePart(actions=[mark_paid_action], urls=_mark_paid_urls, links=_mark_paid_links, permission=RECONCILE)
)


class RefundInline(ReadOnlyInlineMixin, TabularInline):
    model = Refund
    fields = ["created_at", "number", "amount", "status", "reason", "gateway_refund_id", "error", "actor"]
    readonly_fields = fields


class EventInline(ReadOnlyInlineMixin, TabularInline):
    model = PaymentEvent
    fk_name = "payment"
    fields = ["received_at", "direction", "kind", "event_type", "signature_valid", "outcome", "error", "actor"]
    readonly_fields = fields


class AttentionFilter(admin.SimpleListFilter):
    title = _("needs attention")
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(attention="")
        if self.value() == "no":
            return queryset.filter(attention="")
        return queryset


@admin.register(Payment)
class PaymentAdmin(BigListMixin, SaveOnlyWhatCanChange, ModelAdmin):
    list_display = [
        "reference",
        "order",
        "gateway",
        "amount_display",
        "status",
        "refunded_amount",
        "attention",
        "created_at",
    ]
    list_filter = ["gateway", "status", AttentionFilter, CurrencyFilter, "created_at"]
    list_select_related = ["order"]
    search_fields = ["=reference", "=order__number", "=gateway_txn_id"]
    readonly_fields = [
        "order",
        "gateway",
        "reference",
        "gateway_txn_id",
        "amount",
        "currency",
        "status",
        "refunded_amount",
        "action",
        "paid_at",
        "created_at",
        "updated_at",
    ]
    fields = [*readonly_fields[:-2], "attention", "created_at", "updated_at"]
    inlines = [RefundInline, EventInline, TransitionLogInline]
    actions = ["resolve_attention"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_refund_permission(self, request):
        return request.user.has_perm("payments.refund_payment")

    @admin.display(description=_("amount"), ordering="amount")
    def amount_display(self, payment):
        return money_display(payment.amount, payment.currency)

    def get_urls(self):
        return [
            path(
                "return-refund/<str:number>/",
                self.admin_site.admin_view(self.return_refund_view),
                name=f"{self.opts.app_label}_{self.opts.model_name}_return_refund",
            ),
            path(
                "<int:pk>/refund/",
                self.admin_site.admin_view(self.refund_view),
                name=f"{self.opts.app_label}_{self.opts.model_name}_refund",  # the attention list has its own
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        payment = self.get_object(request, object_id)
        if payment is not None and payment.status == "paid" and self.has_refund_permission(request):
            extra_context["links"] = [(reverse("admin:payments_payment_refund", args=[object_id]), _("Refund"))]
        return super().change_view(request, object_id, form_url, extra_context)

    def refund_view(self, request, pk):
        if not self.has_refund_permission(request):
            raise PermissionDenied
        payment = get_object_or_404(Payment.objects.select_related("order"), pk=pk)
        remaining = payment.amount - payment.refunded_amount

        def refund(data):
            refund = services.payment_refund(payment=payment, user=request.user, **data)
            return _("Refund %(number)s of %(amount)s for %(payment)s: %(status)s.") % {
                "number": refund.number,
                "amount": money_display(refund.amount, payment.currency),
                "payment": payment.reference,
                "status": refund.get_status_display(),
            }

        return action_form(
            self,
            request,
            obj=payment,
            form=RefundForm(posted(request), remaining=remaining, initial={"amount": remaining}),
            title=_("Refund %(payment)s — up to %(remaining)s")
            % {"payment": payment.reference, "remaining": money_display(remaining, payment.currency)},
            perform=refund,
            refused=_("Not refunded: %(detail)s"),
            done_url=reverse("admin:payments_payment_change", args=[pk]),
        )

    def return_refund_view(self, request, number):
        """Refund a received return through its order's payment (once: the refund number is the return's)."""
        if not self.has_refund_permission(request):
            raise PermissionDenied
        ret = get_object_or_404(Return.objects.select_related("order"), number=number)

        def refund(data):
            done = services.payment_refund_return(number=ret.number, user=request.user)
            return _("Refund %(number)s of %(amount)s: %(status)s.") % {
                "number": done.number,
                "amount": money_display(done.amount, ret.order.currency),
                "status": done.get_status_display(),
            }

        return action_form(
            self,
            request,
            obj=ret,
            form=forms.Form(posted(request)),
            title=_("Refund the return %(r)s") % {"r": ret.number},
            perform=refund,
            refused=_("Not refunded: %(detail)s"),
            done_url=reverse("admin:orders_return_change", args=[ret.pk]),
            details=[(_("Refund amount"), money_display(ret.refund_amount, ret.order.currency))],
        )

    @admin.action(description=_("Mark selected payments as resolved"), permissions=["change"])
    def resolve_attention(self, request, queryset):
        for payment in queryset:
            services.payment_resolve_attention(payment=payment, user=request.user)
        self.message_user(request, _("%(count)d payment(s) resolved.") % {"count": queryset.count()}, messages.SUCCESS)


class LateFilter(admin.SimpleListFilter):
    title = _("paid late")
    parameter_name = "late"

    def lookups(self, request, model_admin):
        return [("yes", _("Paid after the reservation ran out"))]

    def queryset(self, request, queryset):
        return late_payments(queryset) if self.value() == "yes" else queryset


@admin.register(PaymentAttention)
class PaymentAttentionAdmin(PaymentAdmin):
    """Amount mismatches, late payments and orders paid but awaiting restock."""

    list_display = [
        "reference",
        "order",
        "order_status",
        "gateway",
        "amount_display",
        "status",
        "attention",
        "updated_at",
    ]
    list_filter = [LateFilter, "gateway", "status"]

    def get_queryset(self, request):
        return payments_needing_attention(super().get_queryset(request))

    @admin.display(description=_("order status"), ordering="order__status")
    def order_status(self, payment):
        return payment.order.get_status_display()


@admin.register(PaymentEvent)
class PaymentEventAdmin(BigListMixin, ReadOnlyAdmin):
    list_display = [
        "received_at",
        "gateway",
        "direction",
        "kind",
        "event_type",
        "reference",
        "amount",
        "signature_valid",
        "outcome",
        "error",
    ]
    list_filter = ["gateway", "direction", "kind", "outcome", "signature_valid", "received_at"]
    search_fields = ["=reference", "=payment__gateway_txn_id"]  # each on an UPPER() index (migration 0012)
    actions = ["replay"]

    def has_replay_permission(self, request):
        return request.user.has_perm("payments.replay_paymentevent")

    @admin.action(
        description=_("Replay selected callbacks (verified again, applied at most once)"), permissions=["replay"]
    )
    def replay(self, request, queryset):
        results = []
        for event in queryset.filter(direction=PaymentEvent.Direction.INBOUND, kind__in=["callback", "replay"]):
            result = services.payment_replay_event(event=event, user=request.user)
            results.append(
                f"#{event.pk}: {result.event.get_outcome_display() if result.event else result.message}"
                + (f" ({result.message})" if result.message else "")
            )
        if results:
            self.message_user(request, _("Replayed: %(results)s") % {"results": "; ".join(results)}, messages.INFO)
        else:
            self.message_user(request, _("Only stored gateway callbacks can be replayed."), messages.WARNING)


@admin.register(Refund)
class RefundAdmin(BigListMixin, ReadOnlyAdmin):
    list_display = ["created_at", "number", "payment", "amount", "status", "reason", "error", "actor"]
    list_filter = ["status"]
    list_select_related = ["payment"]
    search_fields = ["=number", "=payment__reference", "=gateway_refund_id"]
    actions = ["retry"]

    def has_refund_permission(self, request):
        return request.user.has_perm("payments.refund_payment")

    @admin.action(description=_("Retry refunds the gateway could not be asked about"), permissions=["refund"])
    def retry(self, request, queryset):
        for refund in queryset.filter(status="pending").exclude(error="").select_related("payment__order"):
            try:
                refund = services.payment_refund(
                    payment=refund.payment, amount=refund.amount, user=request.user, number=refund.number
                )
            except ApplicationError as exc:
                self.message_user(request, f"{refund.number}: {exc.detail}", messages.ERROR)
            else:
                self.message_user(request, f"{refund.number}: {refund.get_status_display()}", messages.INFO)


class SettlementUploadForm(forms.Form):
    source = forms.ChoiceField(label=_("format"), choices=SettlementImport.Source.choices)
    file = forms.FileField(label=_("settlement file"), max_length=200)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > 20 * 1024 * 1024:
            raise forms.ValidationError(_("The file is larger than 20 MB: split it by day."))
        return upload


@admin.register(SettlementImport)
class SettlementImportAdmin(ModelAdmin):
    """Finance imports a gateway's settlement file; each import is kept with every line's outcome."""

    list_display = ["created_at", "file_name", "source", "actor", "counts_display"]
    list_filter = ["source"]
    fields = ["created_at", "file_name", "source", "actor", "sha256", "counts_display", "lines_display"]
    readonly_fields = fields

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("lines by outcome"))
    def counts_display(self, imported):
        return ", ".join(f"{outcome}: {n}" for outcome, n in sorted(imported.counts.items()))

    @admin.display(description=_("lines"))
    def lines_display(self, imported):
        """Every line; the ones finance must look at (unmatched, flagged) first and in red."""
        rows = sorted(imported.results, key=lambda r: (r["outcome"] in ("applied", "duplicate", "skipped"), r["line"]))
        return format_html(
            '<table class="text-sm"><tr><th class="pr-4 text-left">{}</th><th class="pr-4 text-left">{}</th>'
            '<th class="pr-4 text-left">{}</th><th class="pr-4 text-left">{}</th>'
            '<th class="text-left">{}</th></tr>{}</table>',
            _("line"),
            _("reference"),
            _("amount"),
            _("outcome"),
            _("detail"),
            format_html_join(
                "",
                '<tr class="{}" data-outcome="{}"><td class="pr-4">{}</td><td class="pr-4">{}</td>'
                '<td class="pr-4">{}</td><td class="pr-4">{}</td><td>{}</td></tr>',
                (
                    (
                        "" if r["outcome"] in ("applied", "duplicate", "skipped") else "text-red-600",
                        r["outcome"],
                        r["line"],
                        r["reference"],
                        r["amount"],
                        r["outcome"],
                        r["detail"],
                    )
                    for r in rows
                ),
            ),
        )

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = SettlementUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                imported = settlement_import(
                    source=form.cleaned_data["source"], file_name=upload.name, content=upload.read(), actor=request.user
                )
            except ApplicationError as exc:
                form.add_error("file", exc.detail)
            else:
                self.message_user(request, _("Imported: %(counts)s.") % {"counts": self.counts_display(imported)})
                return HttpResponseRedirect(reverse("admin:payments_settlementimport_change", args=[imported.pk]))
        for field in form.fields.values():
            field.widget.attrs["class"] = "border border-base-200 px-3 py-2 rounded-default"
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import a settlement file"),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/payments/settlementimport/upload.html", context)
