"""What each staff group may do: one table, applied to the groups by data migrations (`groups_sync`) and
tried cell by cell through the admin by tests/test_staff_access.py.

Per group and model: Django's `actions` (view, add, change, delete), the state-machine `transitions` the group
may take (each grants the transition's `permission=`), the `fields` it may edit on the change form (each field
group is unlocked by its own permission, FIELD_PERMISSIONS), and `extra` permissions of other staff actions.
A model a group is not listed for is invisible to it. Changing the table needs a migration that calls
`groups_sync` again.
"""

from __future__ import annotations

from dataclasses import dataclass

CUSTOMER_CONTACT = ("customer_name", "customer_email", "customer_phone")
CUSTOMER_ADDRESS = ("street", "city", "province", "postal_code", "country")

# model → permission codename → the fields it lets a user edit
FIELD_PERMISSIONS = {"orders.order": {"change_order_contact": CUSTOMER_CONTACT + CUSTOMER_ADDRESS}}

# model → transition → its `permission=` codename (as the model's @transition declares it; a test checks)
TRANSITION_PERMISSIONS = {
    "orders.order": {"cancel": "cancel_order", "release_review": "review_order", "start_processing": "process_order"},
    "payments.payment": {"refund": "refund_payment"},
    "fulfillment.shipment": {"start_picking": "pick_shipment", "pack": "pick_shipment", "ship": "ship_shipment"},
    "notifications.notification": {"resend": "resend_notification"},
    "webhooks.webhookendpoint": {"enable": "change_webhookendpoint"},
    "webhooks.webhookdelivery": {"redeliver": "redeliver_webhookdelivery"},
    "orders.return": {"approve": "handle_return", "reject": "handle_return", "receive": "handle_return"},
}


@dataclass(frozen=True)
class Access:
    actions: tuple[str, ...] = ("view",)
    transitions: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()


VIEW = Access()

STAFF_ACCESS: dict[str, dict[str, Access]] = {
    "Customer service": {
        "orders.order": Access(
            ("view", "change"), transitions=("cancel", "release_review"), fields=CUSTOMER_CONTACT + CUSTOMER_ADDRESS
        ),
        "orders.orderitem": VIEW,
        "orders.orderedit": VIEW,
        "core.transitionlog": VIEW,
        "orders.backorder": VIEW,
        "orders.coupon": VIEW,
        "orders.blockedcustomer": Access(("view", "add", "change", "delete")),
        "orders.return": Access(transitions=("approve", "reject", "receive")),
        "orders.returnline": VIEW,
        "inventory.product": VIEW,
        "inventory.warehouse": VIEW,
        "inventory.stockitem": VIEW,
        "inventory.reservation": VIEW,
        "payments.payment": VIEW,
        "payments.paymentevent": VIEW,
        "payments.refund": VIEW,
        "fulfillment.shipment": VIEW,
        "fulfillment.shipmentline": VIEW,
        "fulfillment.trackingevent": VIEW,
        "fulfillment.shipmentattention": VIEW,
        "notifications.notification": Access(transitions=("resend",)),
        "notifications.device": VIEW,
    },
    "Finance": {
        "orders.order": Access(extra=("export_order",)),
        "orders.orderitem": VIEW,
        "orders.orderedit": VIEW,
        "core.transitionlog": VIEW,
        "orders.backorder": VIEW,
        "orders.coupon": Access(("view", "add", "change")),
        "orders.return": VIEW,
        "orders.returnline": VIEW,
        "inventory.product": VIEW,
        "inventory.stockmovement": VIEW,
        "payments.payment": Access(("view", "change"), transitions=("refund",), extra=("reconcile_payment",)),
        "payments.paymentattention": Access(("view", "change")),
        "payments.paymentevent": Access(extra=("replay_paymentevent",)),
        "payments.refund": VIEW,
        "payments.settlementimport": Access(("view", "add")),  # add: import a settlement file
        "payments_sandbox.sandboxtransaction": VIEW,  # where PAYMENTS_SANDBOX installs it
        "notifications.notification": VIEW,
        # Finance looks after the systems that hear from us (the storefront, the ERP): endpoints and deliveries.
        "webhooks.webhookendpoint": Access(("view", "add", "change"), transitions=("enable",)),
        "webhooks.webhookevent": VIEW,
        "webhooks.webhookdelivery": Access(transitions=("redeliver",)),
        "webhooks.webhookattempt": VIEW,
    },
    "Warehouse": {
        "orders.order": Access(transitions=("start_processing",)),
        "orders.orderitem": VIEW,
        "orders.return": VIEW,
        "orders.returnline": VIEW,
        "core.transitionlog": VIEW,
        "orders.backorder": VIEW,
        "inventory.product": VIEW,
        "inventory.warehouse": VIEW,
        "inventory.stockitem": Access(("view", "change"), extra=("move_stock",)),
        "inventory.stockmovement": VIEW,
        "inventory.reservation": VIEW,
        "inventory.restockalert": Access(("view", "change")),
        "fulfillment.shipment": Access(
            ("view", "change"), transitions=("start_picking", "pack", "ship"), extra=("print_shipment",)
        ),
        "fulfillment.shipmentline": VIEW,
        "fulfillment.trackingevent": VIEW,
        "fulfillment.shipmentattention": VIEW,
        "notifications.notification": VIEW,
    },
}


def table_permissions(access: dict[str, Access]) -> set[tuple[str, str]]:
    """The (app_label, codename) permissions a group's row of the table grants."""
    granted = set()
    for model, row in access.items():
        app_label, model_name = model.split(".")
        granted |= {(app_label, f"{action}_{model_name}") for action in row.actions}
        granted |= {(app_label, TRANSITION_PERMISSIONS[model][t]) for t in row.transitions}
        granted |= {(app_label, codename) for codename in row.extra}
        for codename, fields in FIELD_PERMISSIONS.get(model, {}).items():
            if set(row.fields) & set(fields):
                assert set(fields) <= set(row.fields), f"{model}: {codename} unlocks {fields} together"
                granted.add((app_label, codename))
    return granted


def groups_sync(apps, schema_editor=None) -> None:
    """Make each group's permissions exactly its row of STAFF_ACCESS (a data migration's RunPython)."""
    from django.db.models import Q

    _create_permissions(apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, access in STAFF_ACCESS.items():
        # An earlier migration syncs the permissions that exist at its point of the history;
        # tests/test_staff_access.py holds the groups to the whole table after the last one.
        wanted = table_permissions(access) & _historical_permissions(apps)
        query = Q(pk__in=[])
        for app_label, codename in wanted:
            query |= Q(content_type__app_label=app_label, codename=codename)
        permissions = list(Permission.objects.filter(query))
        missing = wanted - {(p.content_type.app_label, p.codename) for p in permissions}
        assert not missing, f"{name}: no such permissions {sorted(missing)}"
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(permissions)


def _historical_permissions(apps) -> set[tuple[str, str]]:
    found = set()
    for model in apps.get_models():
        meta = model._meta
        found |= {(meta.app_label, f"{action}_{meta.model_name}") for action in meta.default_permissions}
        found |= {(meta.app_label, codename) for codename, _name in meta.permissions}
    return found


def grant_group_permissions(apps, app_label: str, groups: dict[str, list[str]]) -> None:
    """Earlier migrations' way (kept for them): give each group the listed permissions of `app_label`."""
    _create_permissions(apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in groups.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames))


def _create_permissions(apps) -> None:
    """During `migrate` Django creates permissions only after the last migration: create them now."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
