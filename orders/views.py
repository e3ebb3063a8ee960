"""Public HTML pages (no login): the order tracking page behind its signed token."""

import contextlib

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.views.decorators.http import require_safe

from config.api import TrackingPageThrottle
from core.counters import REDIS_DOWN

from .models import Order
from .tracking import tracking_number_from_token, tracking_order

LANGUAGES = {code for code, _name in settings.LANGUAGES}


def _render(order: Order, language: str) -> str:
    with translation.override(language):
        return render_to_string(
            "orders/tracking.html",
            {
                "order": order,
                "language": language,
                "other_language": "en" if language != "en" else "zh-hans",
                "items": order.items.all(),
                "shipments": [
                    (s, sorted(s.events.all(), key=lambda e: e.occurred_at, reverse=True))
                    for s in order.shipments.all()
                ],
                "returns": order.returns.all(),
            },
        )


@require_safe
def tracking_page(request, token: str):
    """Rate-limited per address before anything is verified; cached briefly per order and language, so a
    customer refreshing it, or a link shared in a chat, costs no database work."""
    throttle = TrackingPageThrottle()
    if not throttle.allow_request(request, None):
        response = HttpResponse(render_to_string("orders/tracking_throttled.html", request=request), status=429)
        response["Retry-After"] = str(int(throttle.wait()) + 1)
        return response
    number = tracking_number_from_token(token)
    if number is None:
        raise Http404
    language = request.GET.get("lang", "")
    language = language if language in LANGUAGES else ""  # the order's own, unless the reader switched
    key = f"tracking-page:{number}:{language}"
    html = None
    with contextlib.suppress(*REDIS_DOWN):
        html = cache.get(key)
    if html is None:
        order = tracking_order(number=number)
        if order is None:
            raise Http404
        html = _render(order, language or order.language)
        with contextlib.suppress(*REDIS_DOWN):
            cache.set(key, html, settings.TRACKING_PAGE_CACHE_SECONDS)
    response = HttpResponse(html)
    response["Cache-Control"] = f"public, max-age={settings.TRACKING_PAGE_CACHE_SECONDS}"
    response["Referrer-Policy"] = "no-referrer"  # the token must not leak to the carriers' sites we link to
    response["X-Robots-Tag"] = "noindex"
    return response
