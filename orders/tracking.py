"""The public tracking page: one order, reached by a signed token instead of a login.

The token is the order number signed with the project's SECRET_KEY (HMAC-SHA256), so it cannot be guessed or
forged from a number, and verifying it needs no database lookup; only a verified number is read.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.core import signing
from django.urls import get_script_prefix, reverse

from .models import Order

_SIGNER = signing.Signer(salt="orders.tracking-page", sep=".", algorithm="sha256")


def tracking_token(number: str) -> str:
    return _SIGNER.sign(number)


def tracking_page_url(order: Order) -> str:
    """The absolute link customers get in every message and storefronts in the order body."""
    return settings.PUBLIC_BASE_URL.rstrip("/") + _tracking_path(order.number, get_script_prefix())


@functools.lru_cache(maxsize=4096)
def _tracking_path(number: str, prefix: str) -> str:
    """Signed and reversed once per order and process (`prefix`: what `reverse()` starts with here): an order is
    rendered again and again (its webhook and its 201, a storefront polling it), and this was nearly half of a
    render (py-spy on a web process under the bench)."""
    return reverse("tracking-page", kwargs={"token": tracking_token(number)})


def tracking_number_from_token(token: str) -> str | None:
    """The order number a token was signed for, or None when it does not verify (tampered, truncated)."""
    try:
        return _SIGNER.unsign(token)
    except signing.BadSignature:
        return None


def tracking_order(*, number: str) -> Order | None:
    """What the page shows, in as few queries as the order's size allows (nothing of the customer's contact)."""
    return (
        Order.objects.filter(number=number)
        .only("number", "status", "language", "created_at", "delivered_at", "shipping_method")
        .prefetch_related("items", "shipments__events", "returns")
        .first()
    )
