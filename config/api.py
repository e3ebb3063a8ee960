"""The API's common pieces: the application error family, its handler, and throttling."""

from __future__ import annotations

import time
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django_fsm import TransitionNotAllowed
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle


class ApplicationError(Exception):
    """A refused use case: a machine `code`, a human `detail` and optional extra fields."""

    code = "error"
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _("The request could not be processed.")

    def __init__(self, detail: Any = None, *, code: str | None = None, **extra: Any) -> None:
        self.detail = detail if detail is not None else self.default_detail
        if code:
            self.code = code
        self.extra = extra
        super().__init__(str(self.detail))

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "detail": str(self.detail), **self.extra}


class InvalidTransition(ApplicationError):
    code = "invalid_transition"
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("This action is not allowed in the object's current state.")


def _flatten(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error dicts → {"customer.email": [...], "items.0.sku": [...]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            name = "" if key == "non_field_errors" else str(key)
            flat.update(_flatten(value, f"{prefix}.{name}".strip(".") if name else prefix))
    elif isinstance(errors, list) and errors and all(isinstance(e, dict | list) for e in errors):
        for index, value in enumerate(errors):
            if value:
                flat.update(_flatten(value, f"{prefix}.{index}".strip(".")))
    else:
        items = errors if isinstance(errors, list) else [errors]
        flat[prefix or "non_field_errors"] = [str(e) for e in items]
    return flat


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Render every refusal as the contract's `{"code", "detail", ...}` body."""
    if isinstance(exc, ApplicationError):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, TransitionNotAllowed):
        return Response(
            {"code": InvalidTransition.code, "detail": str(InvalidTransition.default_detail)},
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None

    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))

    if isinstance(exc, exceptions.ValidationError):
        body = {
            "code": "validation_error",
            "detail": str(_("The request body is invalid.")),
            "errors": _flatten(exc.detail),
        }
    elif isinstance(exc, exceptions.ParseError):
        body = {"code": "validation_error", "detail": str(exc.detail), "errors": {}}
    else:
        codes = {
            exceptions.NotAuthenticated: "not_authenticated",
            exceptions.AuthenticationFailed: "authentication_failed",
            exceptions.Throttled: "throttled",
            exceptions.NotFound: "not_found",
        }
        code = next((c for cls, c in codes.items() if isinstance(exc, cls)), None)
        body = {"code": code or exc.default_code, "detail": str(exc.detail)}
    return Response(body, status=exc.status_code, headers=headers)


class TokenRateThrottle(BaseThrottle):
    """One fixed-window counter per storefront token (rate: settings.API_THROTTLE_RATE).

    DRF's SimpleRateThrottle keeps and re-pickles a list of every request time in the window, which at
    shop rates costs more than the rest of the request; a counter is one Redis round trip (INCR + EXPIRE
    in a pipeline), or the Django cache where no Redis is configured. A fixed window may let up to twice
    the rate through across a window edge.
    """

    _redis = None

    def allow_request(self, request, view):
        num, period = SimpleRateThrottle.parse_rate(None, settings.API_THROTTLE_RATE)
        ident = getattr(request.auth, "prefix", None) or self.get_ident(request)
        now = time.time()
        window = int(now // period)
        key = f"throttle:token:{ident}:{window}"
        self._wait = (window + 1) * period - now
        return self._count(key, period + 1) <= num

    def _count(self, key: str, ttl: int) -> int:
        if settings.REDIS_URL:
            if TokenRateThrottle._redis is None:
                TokenRateThrottle._redis = redis.Redis.from_url(settings.REDIS_URL)
            pipe = TokenRateThrottle._redis.pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, ttl, nx=True)
            return pipe.execute()[0]
        if cache.add(key, 1, timeout=ttl):
            return 1
        try:
            return cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=ttl)
            return 1

    def wait(self):
        return self._wait
