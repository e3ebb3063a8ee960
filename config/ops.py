"""Operations endpoints of the contract: `/healthz` for load balancers, `/metrics` for Prometheus.

Counts come from the database at scrape time, so every web process reports the same numbers; request
durations are a per-process histogram (Prometheus sums the scrapes of each process)."""

from __future__ import annotations

import json
import os
import time

from django.conf import settings
from django.contrib import admin
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET
from kombu.exceptions import ChannelError
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from config.celery_app import HEARTBEAT_KEY, HEARTBEAT_SECONDS, app
from core.metrics import ScrapeGauge, gauges_sample

RANGE_LABELS = {"hour": gettext_lazy("Last hour"), "day": gettext_lazy("Last day"), "week": gettext_lazy("Last week")}
STUCK_LABELS = {
    "payment_unconfirmed": gettext_lazy("Payment started long ago, no answer from the gateway"),
    "not_picked": gettext_lazy("Confirmed, not picked within the SLA"),
    "in_transit_without_news": gettext_lazy("In transit, no tracking news"),
}
THROTTLE_FAIL_OPEN = Counter(
    "shop_throttle_fail_open_total", "Requests let through unthrottled because Redis was unreachable (this process)"
)
REQUEST_SECONDS = Histogram(
    "shop_request_seconds",
    "Time to answer API requests (this process)",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
TIMED = {
    "/api/v1/orders/": "place_order",
    "/api/v1/payments/callbacks/": "payment_callback",
    "/api/v1/shipping/callbacks/": "shipping_callback",
}


class RequestTimingMiddleware:
    """Times order placement and gateway/carrier callbacks."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        endpoint = next(
            (
                name
                for prefix, name in TIMED.items()
                if request.method == "POST"
                and request.path.startswith(prefix)
                and (name != "place_order" or request.path == prefix)
            ),
            None,
        )
        if endpoint is None:
            return self.get_response(request)
        start = time.perf_counter()
        response = self.get_response(request)
        REQUEST_SECONDS.labels(endpoint).observe(time.perf_counter() - start)
        return response


def _check_database() -> bool:
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


def _check_broker() -> bool:
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        return False


def _heartbeat_age() -> float | None:
    """Seconds since a worker last wrote its heartbeat (config.celery_app.Heartbeat); None: never, or no cache."""
    from django.core.cache import cache

    try:
        beat = cache.get(HEARTBEAT_KEY)
    except Exception:
        return None
    return None if beat is None else max(time.time() - beat, 0.0)


def _worker_alive() -> bool:
    """A worker wrote its heartbeat lately: no broadcast per probe."""
    age = _heartbeat_age()
    return age is not None and age < HEARTBEAT_SECONDS * 3


def queue_depth(queue: str = "celery") -> int | None:
    """Messages waiting in a Celery queue: 0 when the queue does not exist yet, None when the broker is down."""
    try:
        with app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            try:
                return conn.default_channel.queue_declare(queue=queue, passive=True).message_count
            except ChannelError:  # an empty Redis queue is no key at all
                return 0
    except Exception:
        return None


@require_GET
def healthz(request):
    database, broker = _check_database(), _check_broker()
    workers = "ok" if _worker_alive() else "none"
    body = {"database": "ok" if database else "down", "broker": "ok" if broker else "down", "workers": workers}
    return JsonResponse(body, status=200 if database and broker else 503)


def _kept_as_things_happen() -> bytes:
    """Counters and histograms: summed over every process's files in PROMETHEUS_MULTIPROC_DIR (gunicorn),
    or this process's own where there is one process (runserver, tests)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()


@require_GET
def metrics(request):
    token = settings.METRICS_TOKEN
    if token and not constant_time_compare(request.headers.get("Authorization", ""), f"Bearer {token}"):
        return HttpResponse("metrics need the scrape token", status=401, content_type="text/plain")
    registry = CollectorRegistry()
    gauges_sample(registry)
    depths = {queue.name: queue_depth(queue.name) for queue in settings.CELERY_TASK_QUEUES}
    broker_up = ScrapeGauge("shop_broker_up", "Whether the Celery broker answered this scrape", registry=registry)
    broker_up.set(all(d is not None for d in depths.values()))
    depth = ScrapeGauge("shop_queue_depth", "Messages waiting in each Celery queue", ["queue"], registry=registry)
    for queue, waiting in depths.items():
        if waiting is not None:  # no sample rather than NaN while the broker is down
            depth.labels(queue).set(waiting)
    age = _heartbeat_age()
    heartbeat = ScrapeGauge(
        "shop_worker_heartbeat_age_seconds", "Seconds since a Celery worker last said it is alive", registry=registry
    )
    heartbeat.set(age if age is not None else float("inf"))
    return HttpResponse(generate_latest(registry) + _kept_as_things_happen(), content_type=CONTENT_TYPE_LATEST)


def order_health(request):
    """The order-health page (admin): what each app measures for the range picked, the queues and the stuck
    orders; every number links to the list behind it. Staff of any group (they all read orders) may open it."""
    from datetime import timedelta

    from django.core.exceptions import PermissionDenied
    from django.template.response import TemplateResponse
    from django.utils import timezone
    from django.utils.translation import gettext as _

    from core.health import RANGES, advice, panels
    from core.metrics import stuck_counts

    if not request.user.has_perm("orders.view_order"):
        raise PermissionDenied
    chosen = request.GET.get("range", "hour")
    chosen = chosen if chosen in RANGES else "hour"
    since = timezone.now() - timedelta(seconds=RANGES[chosen])
    shown = []
    for panel in panels():
        data = panel.data(since)
        if panel.kind in ("line", "bar"):
            data = {"chart": json.dumps({k: v for k, v in data.items() if k != "total"}), "total": data.get("total")}
        elif panel.kind == "table":
            data = [[row[key] for key, _heading in panel.columns] for row in data]
        shown.append({"title": panel.title, "kind": panel.kind, "columns": panel.columns, "data": data})
    queues = [
        {"label": queue.name, "value": "—" if (n := queue_depth(queue.name)) is None else n}
        for queue in settings.CELERY_TASK_QUEUES
    ]
    stuck = [{"label": STUCK_LABELS.get(kind, kind), "value": n, "url": url} for kind, n, url in stuck_counts()]
    context = {
        **admin.site.each_context(request),
        "title": _("Order health"),
        "ranges": [(key, label) for key, label in RANGE_LABELS.items()],
        "chosen": chosen,
        "panels": shown,
        "queues": queues,
        "stuck": stuck,
        "advice": advice(since),
    }
    return TemplateResponse(request, "admin/order_health.html", context)
