"""Gauges read from the database when Prometheus scrapes, contributed by each app from its AppConfig.ready(),
so /metrics (config.ops) needs no app's models."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry

Sampler = Callable[[CollectorRegistry], None]
_samplers: list[Sampler] = []


def gauges_add(sampler: Sampler) -> None:
    if sampler not in _samplers:
        _samplers.append(sampler)


def gauges_sample(registry: CollectorRegistry) -> None:
    for sampler in _samplers:
        sampler(registry)
