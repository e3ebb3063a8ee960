"""Locks and loading helpers every app's services share."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, models, transaction


def require_transaction(what: str) -> None:
    """Row locks and in-transaction writes mean nothing in autocommit: fail loudly instead."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"{what} must run inside a transaction")


def advisory_xact_lock(digest: str) -> None:
    """Serialise transactions on a hex digest until they commit (PostgreSQL: 60 bits of it as an advisory
    lock). SQLite (`make run`) needs none: its IMMEDIATE transactions already run one at a time."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [int(digest[:15], 16)])


def lock_or_skip(queryset: models.QuerySet, **kwargs) -> models.QuerySet:
    """Lock the rows, skipping those another worker holds, so sweeps running side by side share the work."""
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True, **kwargs)
    return queryset


def prefetched(instance: models.Model, **relations: Iterable[models.Model]) -> None:
    """Mark related rows the caller already holds as loaded, as prefetch_related would, so a serializer
    reading `instance.<relation>.all()` costs no query (a new order's items, its empty payments)."""
    cache = instance.__dict__.setdefault("_prefetched_objects_cache", {})
    for name, rows in relations.items():
        queryset = getattr(instance, name).all()
        queryset._result_cache = list(rows)
        queryset._prefetch_done = True
        cache[name] = queryset
