"""The one way any FSM field changes: check, apply, and write the TransitionLog row."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import can_proceed, has_transition_perm

from core.db import insert_later
from core.errors import ApplicationError, InvalidTransition

from .models import TransitionLog

Actor = AbstractBaseUser | str


class TransitionPermissionDenied(ApplicationError):
    code = "permission_denied"
    default_detail = _("You do not have permission to perform this action.")


def actor_parts(actor: Actor) -> tuple[str, AbstractBaseUser | None]:
    """A user, or a named system actor such as `gateway:alipay` or `task:close_expired_orders`."""
    if isinstance(actor, str):
        return actor, None
    return actor.get_username(), actor


def transition_log_entry(
    instance: models.Model, *, field: str, source: str, target: str, name: str, actor: Actor, reason: str = ""
) -> TransitionLog:
    label, user = actor_parts(actor)
    return TransitionLog(
        content_type=ContentType.objects.get_for_model(instance, for_concrete_model=True),
        object_id=str(instance.pk),
        object_repr=str(instance)[:100],
        field=field,
        source=source,
        target=target,
        transition=name,
        actor=label[:150],
        user=user,
        reason=reason[:500],
    )


def transition_apply(
    instance: models.Model,
    name: str,
    *,
    actor: Actor,
    reason: str = "",
    check_permission: bool = False,
    arguments: tuple = (),
) -> TransitionLog:
    """Run the `name` transition on a locked instance and log it; the caller saves the instance.

    Raises InvalidTransition (with the current state) when the state machine refuses, and
    TransitionPermissionDenied when `check_permission` is set and the user lacks the transition's permission
    (the admin's server-side check, which django-fsm-2 4.2.4's own admin skips). `arguments` go to the
    transition method (one whose target is its return value).
    """
    method = getattr(instance, name)
    field = method._django_fsm.field
    source = field.get_state(instance)
    if not can_proceed(method, *arguments):
        raise InvalidTransition(status=source)
    if check_permission and (isinstance(actor, str) or not has_transition_perm(method, actor)):
        raise TransitionPermissionDenied()
    method(*arguments)
    entry = transition_log_entry(
        instance,
        field=field.name,
        source=source,
        target=field.get_state(instance),
        name=name,
        actor=actor,
        reason=reason,
    )
    insert_later([entry])
    return entry


# How the log's named actors read to staff.
SYSTEM_ACTORS = {
    "task:close_expired_orders": _("Scheduled: close unpaid orders"),
    "task:query_stale_payments": _("Scheduled: ask gateways about open payments"),
    "task:start_fulfillment": _("Automatic: send to the warehouse"),
    "task:sweep_unfulfilled": _("Scheduled: send waiting orders to the warehouse"),
    "task:poll_tracking": _("Scheduled: tracking update"),
    "task:complete_orders": _("Scheduled: complete delivered orders"),
    "task:notification_sweep": _("Scheduled: resend stalled messages"),
    "task:notifications": _("Automatic: customer messages"),
    "command:load_catalog": _("Catalogue import"),
}
ACTOR_KINDS = {
    "gateway": _("Payment gateway %(name)s"),
    "carrier": _("Carrier %(name)s"),
    "api": _("Storefront %(name)s"),
    "task": _("Automatic: %(name)s"),
}
# The words of the transitions' names, for every model's history.
TRANSITION_WORDS = {
    "place": _("Placed"),
    "hold": _("Held for review"),
    "release_review": _("Released from review"),
    "mark_paid": _("Payment received"),
    "confirm": _("Confirmed"),
    "confirm_late": _("Confirmed after a late payment"),
    "await_restock": _("Waiting for restock"),
    "cancel": _("Cancelled"),
    "close": _("Closed unpaid"),
    "mark_failed": _("Payment failed"),
    "mark_refunded": _("Refunded"),
    "refund": _("Refunded"),
    "start_processing": _("Sent to the warehouse"),
    "ship": _("Shipped"),
    "deliver": _("Delivered"),
    "complete": _("Completed"),
    "follow_shipments": _("Shipping status follows the parcels"),
    "start_picking": _("Picking started"),
    "pack": _("Packed"),
}


def actor_display(actor: str) -> str:
    """`task:close_expired_orders` → "Scheduled: close unpaid orders"; a user's name stays as it is."""
    if actor in SYSTEM_ACTORS:
        return str(SYSTEM_ACTORS[actor])
    kind, _sep, name = actor.partition(":")
    if name and kind in ACTOR_KINDS:
        return str(ACTOR_KINDS[kind] % {"name": name.replace("_", " ")})
    return actor


def change_display(model: type[models.Model], log: TransitionLog) -> str:
    """A log row in words: "Payment received · Payment status: Pending → Paid"."""
    field = model._meta.get_field(log.field)
    choices = dict(field.choices or ())
    verb = TRANSITION_WORDS.get(log.transition, log.transition.replace("_", " "))
    source = choices.get(log.source, log.source)
    target = choices.get(log.target, log.target)
    change = f"{source} → {target}" if log.source else str(target)
    return f"{verb} · {field.verbose_name}: {change}"
