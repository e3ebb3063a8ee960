import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action

from core.admin import (
    BigListMixin,
    ReadOnlyAdmin,
    ReadOnlyInlineMixin,
    TransitionLogInline,
    action_form,
    badge,
    posted,
)
from core.errors import ApplicationError
from core.fsm import TransitionPermissionDenied

from . import services
from .models import (
    DeliveryStatus,
    EndpointStatus,
    EventType,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

DELIVERY_COLOURS = {
    DeliveryStatus.PENDING: "warning",
    DeliveryStatus.SUCCEEDED: "success",
    DeliveryStatus.FAILED: "danger",
}
ENDPOINT_COLOURS = {EndpointStatus.ACTIVE: "success", EndpointStatus.DISABLED: "danger"}


class EndpointForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label=_("events"),
        choices=EventType.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("The event types it receives; none ticked: all of them."),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "events"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ModelAdmin):
    form = EndpointForm
    list_display = ["url", "description", "events_display", "status_badge", "failing_since", "deliveries_link"]
    list_filter = ["status"]
    search_fields = ["url", "description"]
    readonly_fields = ["status_badge", "secret_display", "failing_since", "created_at", "deliveries_link"]
    inlines = [TransitionLogInline]
    actions = ["enable"]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else []  # the secret and the status exist once it is saved

    def has_delete_permission(self, request, obj=None):
        return False  # its deliveries are history: disable instead

    def has_enable_permission(self, request):
        return request.user.has_perm("webhooks.change_webhookendpoint")

    @admin.display(description=_("events"))
    def events_display(self, endpoint):
        labels = dict(EventType.choices)
        return ", ".join(str(labels.get(e, e)) for e in endpoint.events) or _("All events")

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, endpoint):
        return badge(endpoint.get_status_display(), ENDPOINT_COLOURS.get(endpoint.status, ""))

    @admin.display(description=_("signing secret"))
    def secret_display(self, endpoint):
        """The receiver verifies `webhook-signature` with it (Standard Webhooks)."""
        return format_html("<code>{}</code>", endpoint.secret)

    @admin.display(description=_("deliveries"))
    def deliveries_link(self, endpoint):
        url = reverse("admin:webhooks_webhookdelivery_changelist") + f"?endpoint__id__exact={endpoint.pk}"
        return format_html('<a href="{}">{}</a>', url, _("Deliveries"))

    @admin.action(description=_("Enable selected endpoints again"), permissions=["enable"])
    def enable(self, request, queryset):
        for endpoint in queryset.filter(status=EndpointStatus.DISABLED):
            try:
                services.webhook_endpoint_enable(endpoint=endpoint, user=request.user)
            except TransitionPermissionDenied as exc:
                raise PermissionDenied from exc
            self.message_user(request, _("%(url)s enabled.") % {"url": endpoint.url}, messages.SUCCESS)


class AttemptInline(ReadOnlyInlineMixin, TabularInline):
    model = WebhookAttempt
    fields = ["attempted_at", "response_status", "duration_ms", "error", "response_excerpt"]
    readonly_fields = fields
    verbose_name_plural = _("attempts")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(BigListMixin, ReadOnlyAdmin):
    list_display = [
        "created_at",
        "event_type",
        "order",
        "endpoint",
        "status_badge",
        "attempts",
        "last_response_status",
        "next_attempt_display",
    ]
    list_filter = ["status", "event__type", "endpoint", "created_at"]
    list_select_related = ["event", "endpoint", "order"]
    # the event's order, which is the delivery's: the events' (order, id) index finds it, where the deliveries'
    # leads with the endpoint; a webhook id as the receiver logged it, on its unique index
    search_fields = ["=event__order__number", "event__message_id__exact"]
    search_help_text = _("An order number or a webhook id")
    fields = [
        "event_type",
        "message_id",
        "order",
        "endpoint",
        "status_badge",
        "attempts",
        "next_attempt_display",
        "last_attempt_at",
        "last_response_status",
        "body",
    ]
    readonly_fields = fields
    inlines = [AttemptInline, TransitionLogInline]
    actions = ["redeliver"]
    actions_detail = ["redeliver_one"]

    def has_redeliver_permission(self, request, obj=None):
        return request.user.has_perm("webhooks.redeliver_webhookdelivery")

    @admin.display(description=_("event"), ordering="event__type")
    def event_type(self, delivery):
        return delivery.event.get_type_display()

    @admin.display(description=_("webhook id"))
    def message_id(self, delivery):
        return delivery.event.message_id

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, delivery):
        return badge(delivery.get_status_display(), DELIVERY_COLOURS.get(delivery.status, ""))

    @admin.display(description=_("next attempt"), ordering="next_attempt_at")
    def next_attempt_display(self, delivery):
        if delivery.status != DeliveryStatus.PENDING:
            return "—"
        return formats.localize(timezone.localtime(delivery.next_attempt_at))  # in the shop's time zone

    @admin.display(description=_("body"))
    def body(self, delivery):
        pretty = json.dumps(json.loads(delivery.event.body), indent=2, ensure_ascii=False)
        return format_html("<pre style='white-space:pre-wrap;max-height:24rem;overflow:auto'>{}</pre>", pretty)

    @admin.action(description=_("Redeliver selected webhooks"), permissions=["redeliver"])
    def redeliver(self, request, queryset):
        done, refused = 0, []
        for delivery in queryset:
            try:
                services.webhook_redeliver(delivery=delivery, user=request.user)
                done += 1
            except TransitionPermissionDenied as exc:
                raise PermissionDenied from exc
            except ApplicationError as exc:
                refused.append(f"{delivery.pk} ({exc.detail})")
        if done:
            self.message_user(request, _("%(count)d webhook(s) queued again.") % {"count": done}, messages.SUCCESS)
        if refused:
            self.message_user(request, _("Not redelivered: %(list)s") % {"list": "; ".join(refused)}, messages.ERROR)

    @action(description=_("Redeliver"), url_path="redeliver-one", permissions=["redeliver"])
    def redeliver_one(self, request, object_id):
        return HttpResponseRedirect(reverse("admin:webhooks_webhookdelivery_redeliver", args=[object_id]))

    def get_urls(self):
        confirm = self.admin_site.admin_view(self.redeliver_view)
        return [path("<int:pk>/redeliver/", confirm, name="webhooks_webhookdelivery_redeliver"), *super().get_urls()]

    def redeliver_view(self, request, pk):
        """Confirm, then send the event again with the same webhook id (the receiver de-duplicates by it)."""
        if not self.has_redeliver_permission(request):
            raise PermissionDenied
        delivery = get_object_or_404(WebhookDelivery.objects.select_related("event", "endpoint", "order"), pk=pk)

        def perform(data):
            services.webhook_redeliver(delivery=delivery, user=request.user)
            return _("%(delivery)s queued again.") % {"delivery": delivery}

        return action_form(
            self,
            request,
            obj=delivery,
            form=forms.Form(posted(request)),
            title=_("Redeliver %(event)s to %(url)s") % {"event": delivery.event, "url": delivery.endpoint.url},
            perform=perform,
            refused=_("Not redelivered: %(detail)s"),
            done_url=reverse("admin:webhooks_webhookdelivery_change", args=[pk]),
            details=[
                (_("status"), delivery.get_status_display()),
                (_("attempts"), delivery.attempts),
                (_("order"), delivery.order.number),
            ],
        )


@admin.register(WebhookEvent)
class WebhookEventAdmin(BigListMixin, ReadOnlyAdmin):
    list_display = ["created_at", "type", "order", "message_id"]
    list_filter = ["type", "created_at"]
    list_select_related = ["order"]
    search_fields = ["=order__number", "message_id__exact"]  # a webhook id as the receiver logged it
