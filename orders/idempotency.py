"""The API's Idempotency-Key store: a placement's response kept with its key, written in the placement's own
transaction, so a replay answers byte-for-byte what the first call did and a failed call leaves no key."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError
from django.utils.translation import gettext_lazy as _

from core.db import insert_later, writes_flush
from core.errors import ApplicationError

from .models import IdempotencyKey


class IdempotencyKeyInUse(ApplicationError):
    code = "idempotency_key_in_use"
    default_detail = _("A request with this Idempotency-Key is being processed.")


class IdempotencyKeyReused(ApplicationError):
    code = "idempotency_key_reused"
    default_detail = _("This Idempotency-Key was used with a different request.")


@dataclass(frozen=True)
class Stored:
    status: int
    body: dict[str, Any]


def request_fingerprint(payload: Any) -> str:
    """Fingerprint of a request body, insensitive to key order and whitespace."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def stored_response(*, client: AbstractBaseUser, key: str, fingerprint: str) -> Stored | None:
    """The response this key got, if it was used; refuses a key used before with another body."""
    row = IdempotencyKey.objects.filter(client=client, key=key).first()
    if row is None:
        return None
    if row.request_hash != fingerprint:
        raise IdempotencyKeyReused()
    return Stored(status=row.response_status, body=row.response_body)


def response_remember(
    *, client: AbstractBaseUser, key: str, fingerprint: str, status: int, body: dict[str, Any], order_number: str
) -> Stored:
    """Store the response in the caller's transaction. A concurrent request that committed the same key
    first makes this raise, and so rolls the caller's change back. Written with core.db's SQL built once (the
    model's save() cost more than the statement, on every placement); inside a `writes_at_end` block, in one
    statement with what waits there (a placement's messages)."""
    row = IdempotencyKey(
        client=client,
        key=key,
        request_hash=fingerprint,
        response_status=status,
        response_body=body,
        order_number=order_number,
    )
    try:
        insert_later([row])
        writes_flush()
    except IntegrityError as exc:  # (client, key) is unique
        raise IdempotencyKeyInUse() from exc
    return Stored(status=status, body=body)
