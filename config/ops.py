"""Operations endpoints of the contract: `/healthz` for load balancers, `/metrics` for Prometheus.

Counts come from the database at scrape time, so every web process reports the same numbers; request
durations are a per-process histogram (Prometheus sums the scrapes of each process)."""

from __future__ import annotations

import os
import time

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.http import require_GET
from kombu.exceptions import ChannelError
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from config.celery_app import HEARTBEAT_KEY, HEARTBEAT_SECONDS, app
from core.metrics import ScrapeGauge, gauges_sample

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
