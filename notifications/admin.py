from django.conf import settings
from django.contrib import admin, messages
from django.utils.html import escape, format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, TabularInline

from core.admin import BigListMixin, KnownValuesFilter, ReadOnlyAdmin, ReadOnlyInlineMixin
from core.errors import ApplicationError
from orders.admin import OrderPagePart, order_page_add

from . import services
from .models import Device, Notification


class OrderNotificationInline(ReadOnlyInlineMixin, TabularInline):
    """What the customer (and staff) were told about the order."""

    model = Notification
    fields = ["created_at", "event", "channel", "recipient", "status", "sent_at"]
    readonly_fields = fields
    show_change_link = True
    verbose_name_plural = _("messages sent")


order_page_add(OrderPagePart(inlines=[OrderNotificationInline]))


class LanguageFilter(KnownValuesFilter):
    title = _("language")
    field = "language"

    def lookups(self, request, model_admin):
        return settings.LANGUAGES


@admin.register(Notification)
class NotificationAdmin(BigListMixin, ModelAdmin):
    list_display = ["created_at", "event", "channel", "recipient", "order", "status", "attempts", "due_at", "sent_at"]
    list_filter = ["event", "channel", "status", LanguageFilter, "created_at"]
    list_select_related = ["order"]
    search_fields = ["=order__number", "=subject", "recipient"]
    readonly_fields = [
        "order",
        "subject",
        "event",
        "channel",
        "recipient",
        "language",
        "status",
        "attempts",
        "last_error",
        "provider_message_id",
        "due_at",
        "sent_at",
        "created_at",
        "rendered",
    ]
    exclude = ["context", "sending_since"]
    actions = ["resend"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_resend_permission(self, request):
        return request.user.has_perm("notifications.resend_notification")

    @admin.display(description=_("message"))
    def rendered(self, notification):
        """The message exactly as the recipient gets it, in their language."""
        try:
            message = services.render(notification)
        except Exception as exc:
            return f"({exc})"
        if message.html:
            return format_html(
                '<p><strong>{}</strong></p><iframe srcdoc="{}" style="width:100%;height:420px;'
                'border:1px solid #ddd"></iframe>',
                message.subject,
                escape(str(message.html)),  # the rendered e-mail is a SafeString: escape it for the attribute
            )
        return format_html("<pre style='white-space:pre-wrap'>{}</pre>", message.text)

    @admin.action(description=_("Resend selected notifications"), permissions=["resend"])
    def resend(self, request, queryset):
        done = 0
        for notification in queryset:
            try:
                services.notification_resend(notification=notification, user=request.user)
                done += 1
            except ApplicationError as exc:
                self.message_user(request, f"{notification}: {exc.detail}", messages.ERROR)
        if done:
            self.message_user(request, _("%(count)d notification(s) queued again.") % {"count": done}, messages.SUCCESS)


@admin.register(Device)
class DeviceAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "customer_id", "platform", "client"]
    list_filter = ["platform"]
    list_select_related = ["client"]
    search_fields = ["=customer_id"]
