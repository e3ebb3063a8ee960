"""Storefront authentication: `Authorization: Token <key>` (the contract), checked against hashed keys."""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from .models import StorefrontKey

KEY = re.compile(r"^[A-Za-z0-9.]{1,200}$")


class StorefrontKeyAuthentication(BaseAuthentication):
    """One indexed read by the key's prefix, then a SHA-512 compare: no dearer than DRF's plain tokens.

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
        # Keys issued before hashing (40 hex characters) are found by their first 8 characters too.
        prefix = key.partition(".")[0][:8]
        # One filter on the unique prefix, the rest checked here: the cheapest query the ORM makes.
        found = StorefrontKey.objects.select_related("client").order_by().filter(prefix=prefix)[:1]
        api_key = found[0] if found else None
        usable = api_key is not None and not api_key.revoked and api_key.client.is_active and not api_key.has_expired
        if not usable or not api_key.is_valid(key):
            raise exceptions.AuthenticationFailed(_("Invalid API key."))
        return api_key.client, api_key

    def authenticate_header(self, request):
        return self.keyword


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
