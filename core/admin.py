"""Admin building blocks every app's admin uses, and the transition log's own pages."""

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField
from unfold.admin import GenericTabularInline, ModelAdmin
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm
from unfold.widgets import INPUT_CLASSES, SELECT_CLASSES, TEXTAREA_CLASSES

from .errors import ApplicationError
from .fsm import TransitionPermissionDenied
from .models import TransitionLog
from .paginator import EstimatedCountPaginator
from .search import search_each_field


def badge(text, colour: str = "") -> str:
    """A status as a coloured label (the theme's), in words: the same on list and object pages."""
    return render_to_string("unfold/helpers/label.html", {"text": text, "variant": colour})


def money_display(amount, currency: str) -> str:
    """An amount as staff read it: `1,299.00 CNY`."""
    return f"{amount:,.2f} {currency}"


class SaveOnlyWhatCanChange:
    """No Save buttons on an object page whose form has nothing the user may edit (a shipment, a payment:
    their changes are actions)."""

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if change and not context["adminform"].form.fields:
            context.update(show_save=False, show_save_and_continue=False, show_save_and_add_another=False)
        return super().render_change_form(request, context, add, change, form_url, obj)


class KnownValuesFilter(admin.SimpleListFilter):
    """A filter on one column whose values are known without reading the rows (choices, settings, the catalogue):
    Django's filter for a column without choices lists its values by a DISTINCT over every row."""

    field = ""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.parameter_name = f"{cls.field}__exact"  # the URL Django's own filter on the column would have

    def queryset(self, request, queryset):
        return queryset.filter(**{self.field: self.value()}) if self.value() else queryset


def _state_fields():
    """Every state-machine field of the installed models: what a transition log row can name."""
    return [f for model in apps.get_models() for f in model._meta.concrete_fields if isinstance(f, FSMField)]


class StateFieldFilter(KnownValuesFilter):
    title = _("field")
    field = "field"

    def lookups(self, request, model_admin):
        return sorted({f.name: capfirst(f.verbose_name) for f in _state_fields()}.items())


class TargetStateFilter(KnownValuesFilter):
    title = _("to")
    field = "target"

    def lookups(self, request, model_admin):
        states = {}
        for f in _state_fields():
            for value, label in f.choices:
                states.setdefault(value, label)
        return sorted(states.items(), key=lambda state: str(state[1]))


class BigListMixin:
    """The list of a table that grows with the orders (payments, callbacks, parcels, logs, messages): the count
    exact up to ten thousand rows and estimated beyond, each search field asked on its own index.

    Such a list takes its dates as a list filter (today, past 7 days, this month, this year) and no
    date_hierarchy, whose year links are a DISTINCT over every row (0.4 s at a million payments), and its other
    filters from choices, not from the rows (`tests/test_admin_big_lists.py` holds each such list to this)."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False

    def get_search_results(self, request, queryset, search_term):
        fields = self.get_search_fields(request)
        if not (search_term and fields):
            return queryset, False
        return search_each_field(queryset, search_term, fields), False


class ReadOnlyAdmin(ModelAdmin):
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
    hide_title = True  # no caption (the row's __str__) above each row: the row says it

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def posted(request):
    """The form's data on a POST (even an empty one: a confirmation has no fields), else unbound."""
    return request.POST if request.method == "POST" else None


def action_form(
    model_admin, request, *, obj, form, title, perform, refused, done_url, refused_args=None, details=()
) -> HttpResponse:
    """An intermediate page asking for a staff action's details (mark paid, refund, ship, cancel). On a valid
    POST `perform(cleaned_data)` runs the service and returns the success message; a refusal is shown with
    `refused` (a message with "%(detail)s" and any `refused_args`) and the form stays; a transition the user
    may not take is a 403."""
    if request.method == "POST" and form.is_valid():
        try:
            message = perform(form.cleaned_data)
        except TransitionPermissionDenied as exc:
            raise PermissionDenied from exc
        except ApplicationError as exc:
            model_admin.message_user(request, refused % {**(refused_args or {}), "detail": exc.detail}, messages.ERROR)
        else:
            model_admin.message_user(request, message, messages.SUCCESS)
            return HttpResponseRedirect(done_url)
    _dress(form)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "form": form,
        "object": obj,
        "opts": model_admin.model._meta,
        "object_opts": obj._meta.concrete_model._meta,  # breadcrumbs lead to the object's own page
        "details": details,  # (label, value) rows shown above the form
    }
    return TemplateResponse(request, "admin/action_form.html", context)


def _dress(form) -> None:
    """Plain form widgets in the theme's classes (its ModelAdmin does this for model forms only)."""
    for field in form.fields.values():
        widget = field.widget
        classes = (
            SELECT_CLASSES
            if isinstance(widget, forms.Select)
            else TEXTAREA_CLASSES
            if isinstance(widget, forms.Textarea)
            else INPUT_CLASSES
        )
        widget.attrs["class"] = " ".join([widget.attrs.get("class", ""), *classes]).strip()


class TransitionLogInline(ReadOnlyInlineMixin, GenericTabularInline):
    """The history of any object whose state machines log here."""

    model = TransitionLog
    fields = ["created_at", "field", "source", "target", "transition", "actor", "reason"]
    readonly_fields = fields
    ordering = ["created_at", "id"]
    verbose_name_plural = _("history")


@admin.register(TransitionLog)
class TransitionLogAdmin(BigListMixin, ReadOnlyAdmin):
    list_display = ["created_at", "object_repr", "content_type", "field", "source", "target", "actor", "reason"]
    list_filter = ["content_type", StateFieldFilter, TargetStateFilter, "created_at"]
    list_select_related = ["content_type"]
    search_fields = ["=object_repr", "actor"]


# Django's own users and groups, in the theme's dress (its templates expect its ModelAdmin).
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class UserAdmin(BaseUserAdmin, ModelAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm


@admin.register(Group)
class GroupAdmin(BaseGroupAdmin, ModelAdmin):
    pass
