"""Metrics: gauges read from the database when Prometheus scrapes, contributed by each app from its
AppConfig.ready() (so /metrics in config.ops needs no app's models), and the counters and histograms the apps
keep as things happen.

Counters and histograms are prometheus_client's own; under gunicorn set PROMETHEUS_MULTIPROC_DIR (see
config/gunicorn.py) and every process writes them to files there, which /metrics adds up — so a count is the
same whichever process answers the scrape. Scrape-time gauges are metric families built per scrape
(`ScrapeGauge`), which that mode leaves alone.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily

Sampler = Callable[[CollectorRegistry], None]
_samplers: list[Sampler] = []
# kind → (a count of orders stuck that way, the admin list of them); each app adds the kinds it can see.
_stuck: dict[str, tuple[Callable[[], int], Callable[[], str]]] = {}


class ScrapeGauge:
    """A gauge computed at scrape time, with Gauge's `labels(...).set()` / `set()` shape."""

    def __init__(self, name: str, documentation: str, labelnames=(), *, registry: CollectorRegistry):
        self.family = GaugeMetricFamily(name, documentation, labels=list(labelnames))
        registry.register(self)

    def labels(self, *values) -> _Sample:
        return _Sample(self.family, [str(v) for v in values])

    def set(self, value: float) -> None:
        self.family.add_metric([], value)

    def collect(self):
        return [self.family]


class _Sample:
    def __init__(self, family: GaugeMetricFamily, values: list[str]):
        self.family, self.values = family, values

    def set(self, value: float) -> None:
        self.family.add_metric(self.values, value)


def gauges_add(sampler: Sampler) -> None:
    if sampler not in _samplers:
        _samplers.append(sampler)


def stuck_add(kind: str, count: Callable[[], int], url: Callable[[], str]) -> None:
    _stuck[kind] = (count, url)


def stuck_counts() -> list[tuple[str, int, str]]:
    """(kind, count, list URL) of every kind of stuck order (shop_orders_stuck and the order-health page)."""
    return [(kind, count(), url()) for kind, (count, url) in sorted(_stuck.items())]


def gauges_sample(registry: CollectorRegistry) -> None:
    for sampler in _samplers:
        sampler(registry)
    stuck = ScrapeGauge("shop_orders_stuck", "Orders stuck, by how", ["kind"], registry=registry)
    for kind, count, _url in stuck_counts():
        stuck.labels(kind).set(count)
