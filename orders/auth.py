"""Storefront authentication: `Authorization: Token <key>` (the contract), checked against hashed keys."""

from __future__ import annotations

import hashlib
import re
import time

from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from .models import StorefrontKey

KEY = re.compile(r"^[A-Za-z0-9.]{1,200}$")
# SHA-512 of a key that verified → (when, key row with its client). Per process, a few seconds long: a revoked
# key stops working here at once (post_save below) and in other processes within STOREFRONT_KEY_CACHE_SECONDS.
_verified: dict[str, tuple[float, StorefrontKey]] = {}
_VERIFIED_MAX = 1024


class StorefrontKeyAuthentication(BaseAuthentication):
    """A key verified in the last few seconds costs a dict lookup; otherwise one indexed read by the key's
    prefix and a SHA-512 compare, as dear as DRF's plain tokens were.

    `request.user` is the storefront (its client user), `request.auth` the key row.
    """

    keyword = "Token"

    def authenticate(self, request):
        parts = str(request.META.get("HTTP_AUTHORIZATION", "")).split()
        if not parts or parts[0].lower() != self.keyword.lower():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Send 'Authorization: Token <key>' with one key."))
        key = parts[1]
        if not KEY.match(key):
            raise exceptions.AuthenticationFailed(_("Invalid API key."))
        digest = hashlib.sha512(key.encode()).hexdigest()
        seen = _verified.get(digest)
        if seen is not None and time.monotonic() - seen[0] < settings.STOREFRONT_KEY_CACHE_SECONDS:
            return seen[1].client, seen[1]
        # Keys issued before hashing (40 hex characters) are found by their first 8 characters too.
        prefix = key.partition(".")[0][:8]
        # One filter on the unique prefix, the rest checked here: the cheapest query the ORM makes.
        found = StorefrontKey.objects.select_related("client").order_by().filter(prefix=prefix)[:1]
        api_key = found[0] if found else None
        usable = api_key is not None and not api_key.revoked and api_key.client.is_active and not api_key.has_expired
        if not usable or not api_key.is_valid(key):
            raise exceptions.AuthenticationFailed(_("Invalid API key."))
        if len(_verified) >= _VERIFIED_MAX:
            _verified.clear()
        _verified[digest] = (time.monotonic(), api_key)
        return api_key.client, api_key

    def authenticate_header(self, request):
        return self.keyword


@receiver(post_save, sender=StorefrontKey, dispatch_uid="orders.auth.forget_verified_keys")
def _forget_verified_keys(**kwargs):
    """A key was revoked, rotated or changed: this process asks the database again."""
    _verified.clear()


class StorefrontKeyScheme(OpenApiAuthenticationExtension):
    target_class = StorefrontKeyAuthentication
    name = "storefrontToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`, the key `issue_api_token` printed",
        }
