"""The orders' parts of the order-health page: placements per minute by outcome, the funnel, stage timings."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.counters import counter_get_many

from .models import Order, OrderStatus
from .selectors import order_logs

OUTCOMES = [
    "created",
    "validation_error",
    "idempotency_key_missing",
    "unknown_product",
    "product_unavailable",
    "price_mismatch",
    "quantity_limit_exceeded",
    "invalid_coupon",
    "customer_blocked",
    "out_of_stock",
    "duplicate_order",
    "idempotency_key_in_use",
    "idempotency_key_reused",
    "throttled",
    "not_authenticated",
    "other",
]
KEEP_SECONDS = 8 * 24 * 3600
SAMPLE_LIMIT = 50_000  # stage timings of a range are computed over at most this many orders


def placement_outcome_record(outcome: str) -> None:
    """Count a placement by outcome per minute and per hour, where every web process sees it (within a second)."""
    from core.counters import counters_incr_soon

    outcome = outcome if outcome in OUTCOMES else "other"
    now = int(time.time())
    counters_incr_soon([f"placements:m:{now // 60}:{outcome}", f"placements:h:{now // 3600}:{outcome}"], KEEP_SECONDS)


def placements_per_minute(since: datetime) -> dict:
    """Chart.js data: placements per minute by outcome (minutes for the last hour, hourly averages beyond)."""
    span = (timezone.now() - since).total_seconds()
    step, unit = (60, "m") if span <= 3660 else (3600, "h")
    now = int(time.time())
    buckets = list(range(int(since.timestamp()) // step + 1, now // step + 1))
    keys = [f"placements:{unit}:{b}:{o}" for b in buckets for o in OUTCOMES]
    counts = counter_get_many(keys)
    per_minute = step / 60
    datasets = []
    for outcome in OUTCOMES:
        series = [round(counts.get(f"placements:{unit}:{b}:{outcome}", 0) / per_minute, 2) for b in buckets]
        if any(series):
            datasets.append({"label": outcome, "data": series})
    fmt = "%H:%M" if step == 60 else "%m-%d %H:00"
    labels = [timezone.localtime(datetime.fromtimestamp(b * step, tz=UTC)).strftime(fmt) for b in buckets]
    total = {d["label"]: round(sum(d["data"]) * per_minute) for d in datasets}
    return {"labels": labels, "datasets": datasets, "total": total}


def funnel(since: datetime) -> list[dict]:
    counts = dict(Order.objects.filter(created_at__gte=since).values_list("status").annotate(n=Count("id")).order_by())
    url = reverse("admin:orders_order_changelist")
    return [
        {"label": label, "value": counts.get(status, 0), "url": f"{url}?status__exact={status}"}
        for status, label in OrderStatus.choices
    ]


def _processing_times(since: datetime) -> list[float]:
    """The newest processing times of the range, on the partial index `order_processed_idx` (a million orders
    are not scanned; the stage table and the advice each read them)."""
    return list(
        Order.objects.filter(processing_seconds__isnull=False, updated_at__gte=since)
        .order_by("-updated_at")
        .values_list("processing_seconds", flat=True)[:SAMPLE_LIMIT]
    )


def _percentiles(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    values = sorted(values)
    return values[len(values) // 2], values[min(len(values) - 1, int(len(values) * 0.95))]


def _reached_since(field: str, target: str, since: datetime | None, ids=None) -> dict[str, datetime]:
    logs = order_logs().filter(field=field, target=target)
    if since is not None:
        logs = logs.filter(created_at__gte=since)
    if ids is not None:
        logs = logs.filter(object_id__in=ids)
    return dict(logs.order_by("created_at").values_list("object_id", "created_at")[:SAMPLE_LIMIT])


def stage_timings(since: datetime) -> list[dict]:
    """p50 / p95 of each stage whose end fell in the range, from the transition log; and our own processing."""
    paid = _reached_since("payment_status", "paid", since)
    created = dict(Order.objects.filter(pk__in=[int(i) for i in paid]).values_list("pk", "created_at").order_by())
    placed_to_paid = [(paid[str(pk)] - at).total_seconds() for pk, at in created.items()]
    shipped = _reached_since("status", "shipped", since)
    paid_of_shipped = _reached_since("payment_status", "paid", None, ids=list(shipped))
    paid_to_shipped = [(shipped[i] - paid_of_shipped[i]).total_seconds() for i in shipped if i in paid_of_shipped]
    delivered = _reached_since("status", "delivered", since)
    shipped_of_delivered = _reached_since("status", "shipped", None, ids=list(delivered))
    shipped_to_delivered = [
        (delivered[i] - shipped_of_delivered[i]).total_seconds() for i in delivered if i in shipped_of_delivered
    ]
    processing = _processing_times(since)
    rows = []
    for label, values in (
        (_("Placed → paid"), placed_to_paid),
        (_("Paid → shipped"), paid_to_shipped),
        (_("Shipped → delivered"), shipped_to_delivered),
        (_("Our processing (ready → picking lists)"), processing),
    ):
        p50, p95 = _percentiles(values)
        rows.append({"label": label, "count": len(values), "p50": _duration(p50), "p95": _duration(p95)})
    return rows


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def health_panels_register() -> None:
    from django.utils.translation import gettext_lazy

    from core.health import Panel, advice_add, panel_add

    panel_add(
        Panel(
            "placements", gettext_lazy("Orders placed per minute, by outcome"), placements_per_minute, "line", rank=10
        )
    )
    panel_add(Panel("funnel", gettext_lazy("Orders placed in the range, by status now"), funnel, rank=20))
    columns = (("label", gettext_lazy("Stage")), ("count", gettext_lazy("Orders")), ("p50", "p50"), ("p95", "p95"))
    panel_add(Panel("stages", gettext_lazy("Stage timings"), stage_timings, "table", columns, rank=30))
    advice_add(placement_advice)


def placement_advice(since: datetime) -> list[str]:
    """Refusal causes worth acting on, and our own processing time against SLOW_ORDER_SECONDS."""
    from django.conf import settings

    totals = placements_per_minute(since)["total"]
    placed = sum(totals.values())
    advice = []
    hints = {
        "out_of_stock": _("restock the products most asked for, or show less availability on the storefront"),
        "price_mismatch": _("the storefront shows stale prices: refresh its catalogue"),
        "validation_error": _("the storefront sends malformed orders: check its checkout form"),
        "throttled": _("a storefront is over API_THROTTLE_RATE: raise the rate or slow its retries"),
    }
    for outcome, hint in hints.items():
        if placed >= 20 and totals.get(outcome, 0) / placed > 0.05:
            advice.append(
                _("%(rate).1f%% of placements were refused with %(code)s: %(hint)s.")
                % {"rate": 100 * totals[outcome] / placed, "code": outcome, "hint": hint}
            )
    _p50, p95 = _percentiles(_processing_times(since))
    if p95 is not None and p95 > settings.SLOW_ORDER_SECONDS:
        advice.append(
            _("Our processing p95 is %(p95)d s, over %(limit)d s: add consumers to the fulfillment queue.")
            % {"p95": p95, "limit": settings.SLOW_ORDER_SECONDS}
        )
    return advice
