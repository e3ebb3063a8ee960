"""Admin building blocks every app's admin uses, and the transition log's own pages."""

from django.contrib import admin
from django.contrib.contenttypes.admin import GenericTabularInline
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from .models import TransitionLog


def money_display(amount, currency: str) -> str:
    """An amount as staff read it: `1,299.00 CNY`."""
    return f"{amount:,.2f} {currency}"


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records nobody edits by hand: ledgers, logs, stored callbacks."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInlineMixin:
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def action_form_page(model_admin, request, obj, form, title):
    """An intermediate admin page asking for a staff action's details (mark paid, refund, ship)."""
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "form": form,
        "object": obj,
        "opts": model_admin.model._meta,
    }
    return TemplateResponse(request, "admin/action_form.html", context)


class TransitionLogInline(ReadOnlyInlineMixin, GenericTabularInline):
    """The history of any object whose state machines log here."""

    model = TransitionLog
    fields = ["created_at", "field", "source", "target", "transition", "actor", "reason"]
    readonly_fields = fields
    ordering = ["created_at", "id"]
    verbose_name_plural = _("history")


@admin.register(TransitionLog)
class TransitionLogAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "object_repr", "content_type", "field", "source", "target", "actor", "reason"]
    list_filter = ["content_type", "field", "target"]
    list_select_related = ["content_type"]
    search_fields = ["=object_repr", "actor"]
    date_hierarchy = "created_at"
    show_full_result_count = False
