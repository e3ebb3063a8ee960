"""The API's common pieces: the application error family, its handler, strict JSON parsing, the JSON
answers of Django's own error pages under /api/, and throttling."""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views import defaults
from django_fsm import TransitionNotAllowed
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from core.counters import REDIS_DOWN, counter_incr_batched
from core.errors import ApplicationError, InvalidTransition

logger = logging.getLogger(__name__)
MAX_JSON_DEPTH = 32


# Each refusal's HTTP status, by its code (the use cases know no HTTP); any other code is a 400.
STATUS_BY_CODE = {
    "customer_blocked": 403,
    "permission_denied": 403,
    "duplicate_order": 409,
    "idempotency_key_in_use": 409,
    "return_window_closed": 409,
    "invalid_transition": 409,
    "out_of_stock": 409,
    "stock_error": 409,
    "fulfillment_error": 409,
    "unknown_carrier": 409,
    "carrier_error": 409,
    "idempotency_key_reused": 422,
    "gateway_error": 502,
}


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
        return Response(exc.as_dict(), status=STATUS_BY_CODE.get(exc.code, status.HTTP_400_BAD_REQUEST))
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


# --- untrusted input ----------------------------------------------------------------------------------------
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def untrusted_text_problem(value: str) -> str | None:
    """Why a string from outside cannot be stored or compared (NUL, lone surrogates), or None."""
    if "\x00" in value:
        return "NUL byte"
    if _LONE_SURROGATE.search(value):
        return "lone surrogate"
    return None


def json_problem(data: Any) -> str | None:
    """Why parsed JSON is refused: nested deeper than MAX_JSON_DEPTH, or a key or string that is not text."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return f"nested deeper than {MAX_JSON_DEPTH}"
        if isinstance(value, dict):
            for key, item in value.items():
                if problem := untrusted_text_problem(key):
                    return problem
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str) and (problem := untrusted_text_problem(value)):
            return problem
    return None


def json_loads_untrusted(raw: bytes | str) -> Any:
    """json.loads that refuses what must never reach the database: raises ValueError with the reason."""
    try:
        data = json.loads(raw, parse_constant=_no_constant)
    except RecursionError as exc:
        raise ValueError("nested too deeply") from exc
    if problem := json_problem(data):
        raise ValueError(problem)
    return data


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


class StrictJSONParser(JSONParser):
    """JSON bodies as the contract takes them: UTF-8, no NaN/Infinity, no NUL or lone surrogates, at most
    MAX_JSON_DEPTH deep. Anything else is 400 `validation_error`, never a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return json_loads_untrusted(stream.read() if stream is not None else b"")
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors too
            raise exceptions.ParseError(_("The body is not acceptable JSON: %(why)s.") % {"why": exc}) from exc


def _api_error(request: HttpRequest, status_code: int, code: str, detail: str) -> JsonResponse | None:
    if request.path.startswith("/api/"):
        return JsonResponse({"code": code, "detail": detail}, status=status_code)
    return None


def handler400(request, exception=None):
    if isinstance(exception, RequestDataTooBig):
        answer = _api_error(request, 413, "payload_too_large", str(_("The request body is too large.")))
    else:
        answer = _api_error(request, 400, "bad_request", str(_("The request is malformed.")))
    return answer or defaults.bad_request(request, exception)


def handler403(request, exception=None):
    return _api_error(request, 403, "permission_denied", str(_("You may not do this."))) or (
        defaults.permission_denied(request, exception)
    )


def handler404(request, exception=None):
    return _api_error(request, 404, "not_found", str(_("Not found."))) or defaults.page_not_found(request, exception)


def handler500(request):
    return _api_error(request, 500, "server_error", str(_("Something went wrong on our side; try again."))) or (
        defaults.server_error(request)
    )


class TokenRateThrottle(BaseThrottle):
    """One fixed-window counter per storefront token (rate: settings.API_THROTTLE_RATE).

    DRF's SimpleRateThrottle keeps and re-pickles a list of every request time in the window, which at
    shop rates costs more than the rest of the request; a counter is one Redis round trip (INCR + EXPIRE
    in a pipeline), or the Django cache where no Redis is configured. A fixed window may let up to twice
    the rate through across a window edge.

    A process sends its counts of a window every `batch` requests rather than each one (the round trip was a
    sixth of a callback's answer): each process may let up to `batch - 1` requests more through a window,
    a hundredth of the rate, at most BATCH_MAX - 1. Rates under 200 a window are counted at every request.
    """

    BATCH_MAX = 20

    rate_setting = "API_THROTTLE_RATE"
    scope = "token"

    def allow_request(self, request, view):
        ident = getattr(request.auth, "prefix", None) or self.get_ident(request)
        return self.allow(f"{self.scope}:{ident}")

    def allow(self, ident: str) -> bool:
        num, period = SimpleRateThrottle.parse_rate(None, getattr(settings, self.rate_setting))
        now = time.time()
        window = int(now // period)
        self._wait = (window + 1) * period - now
        try:
            batch = min(self.BATCH_MAX, num // 100)
            return counter_incr_batched(f"throttle:{ident}:{window}", period + 1, batch) <= num
        except REDIS_DOWN as exc:
            # Degraded mode: without Redis the API keeps answering, unthrottled, and says so.
            from config.ops import THROTTLE_FAIL_OPEN

            THROTTLE_FAIL_OPEN.inc()
            global _warned_at
            if time.monotonic() - _warned_at > 10:  # once per 10 s, not once per request
                _warned_at = time.monotonic()
                logger.warning("throttle failing open (counted in shop_throttle_fail_open_total): %s", exc)
            return True

    def wait(self):
        return self._wait


class TrackingPageThrottle(TokenRateThrottle):
    """Per source address on the public tracking page, before its token is checked."""

    rate_setting = "TRACKING_PAGE_THROTTLE_RATE"
    scope = "tracking"

    def allow_request(self, request, view):
        return self.allow(f"{self.scope}:{self.get_ident(request)}")


class CallbackRateThrottle(TokenRateThrottle):
    """Per gateway or carrier and source address: callbacks are unauthenticated until verified."""

    rate_setting = "CALLBACK_THROTTLE_RATE"
    scope = "callback"

    def allow_request(self, request, view):
        source = view.kwargs.get("gateway") or view.kwargs.get("carrier") or ""
        return self.allow(f"{self.scope}:{source[:20]}:{self.get_ident(request)}")


_warned_at = 0.0


CALLBACK_PREFIXES = ("/api/v1/payments/callbacks/", "/api/v1/shipping/callbacks/")
CALLBACK_MAX_BYTES = 64 * 1024


class UntrustedInputMiddleware:
    """Under /api/: a path or query that is not text (NUL, lone surrogates) is 404 / 400, never a database
    error; a callback body over 64 KiB is 413 before anything reads or stores it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        if untrusted_text_problem(request.path):
            return _api_error(request, 404, "not_found", str(_("Not found.")))
        try:
            problem = next(
                (p for k, v in request.GET.lists() for x in (k, *v) if (p := untrusted_text_problem(x))), None
            )
        except UnicodeDecodeError:
            problem = "not UTF-8"
        if problem:
            return JsonResponse(
                {"code": "validation_error", "detail": str(_("The query string is not text.")), "errors": {}},
                status=400,
            )
        if request.path.startswith(CALLBACK_PREFIXES):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > CALLBACK_MAX_BYTES:
                return _api_error(
                    request,
                    413,
                    "payload_too_large",
                    str(_("A callback body may be at most %(n)d bytes.") % {"n": CALLBACK_MAX_BYTES}),
                )
        return self.get_response(request)


# --- the schema of errors -------------------------------------------------------------------------------------
class ErrorOutput(serializers.Serializer):
    """Every refusal: a machine `code` and a human `detail`; some add fields (`errors`, `items`, `status`…)."""

    code = serializers.CharField()
    detail = serializers.CharField()


ERROR_RESPONSES = {
    "400": "The request is malformed or refused (`validation_error` carries `errors` by field).",
    "401": "No or an invalid `Authorization: Token <key>`.",
    "404": "No such object, or another storefront's (`not_found`).",
    "405": "Method not allowed (`method_not_allowed`).",
    "413": "The body is too large (`payload_too_large`).",
    "429": "Over the rate limit (`throttled`, with `Retry-After`).",
    "500": "An unexpected failure (`server_error`).",
}


def schema_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing: every storefront operation documents the contract's JSON errors.
    (Callback endpoints answer in each gateway's or carrier's own format and document their own.)"""
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOutput"}}}
    result.setdefault("components", {}).setdefault("schemas", {}).setdefault(
        "ErrorOutput",
        {
            "type": "object",
            "properties": {"code": {"type": "string"}, "detail": {"type": "string"}},
            "required": ["code", "detail"],
        },
    )
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/v1/") or "/callbacks/" in path:
            continue
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            wanted = {"400", "401", "405", "429", "500"}
            if "{" in path:
                wanted.add("404")
            if method == "post":
                wanted.add("413")
            for code in sorted(wanted):
                operation["responses"].setdefault(code, {"description": ERROR_RESPONSES[code], "content": error})
    return result
