"""Reads that can be a moment old go to the read replica, when there is one (DATABASE_REPLICA_URL).

Which reads: the admin's list pages, the order-health page and the storefront's catalogue — pages that read a
lot and whose reader cannot tell a second's lag. Everything else stays on the primary: writes, row locks,
the order page a staff member just saved, a storefront reading back the order it placed, the tracking page,
and the session, user and permission reads of every page (a login just written must be found)."""

from __future__ import annotations

import contextvars
import re

from django.conf import settings

_on_replica = contextvars.ContextVar("read_from_replica", default=False)
# Only the apps' own tables; auth, sessions, content types and admin's log stay on the primary.
REPLICA_APPS = {"inventory", "orders", "payments", "fulfillment", "notifications", "webhooks", "core"}
REPLICA_PATHS = re.compile(r"^/admin/(order-health/|[a-z_]+/[a-z_]+/)$|^/api/v1/products/")


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if _on_replica.get() and model._meta.app_label in REPLICA_APPS and "replica" in settings.DATABASES:
            return "replica"
        return None

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica is a copy of the primary: the same rows

    def allow_migrate(self, db, app_label, **hints):
        return db == "default"


class ReplicaReadsMiddleware:
    """GET and HEAD of the pages above read from the replica for the length of the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in ("GET", "HEAD") or "replica" not in settings.DATABASES:
            return self.get_response(request)
        if not REPLICA_PATHS.match(request.path):
            return self.get_response(request)
        token = _on_replica.set(True)
        try:
            return self.get_response(request)
        finally:
            _on_replica.reset(token)
