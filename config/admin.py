"""Admin building blocks shared by the apps (config is not an app: Django's autodiscover skips it)."""

from django.contrib import admin


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
