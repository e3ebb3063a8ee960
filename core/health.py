"""The order-health page's parts: each app adds what it can measure (from its AppConfig.ready()), as the
to-do list's items are added, so the page in core knows no app. Each part reads the database (or the
shared counters) for a time range and returns a small table; the page links every number to its list."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

RANGES = {"hour": 60 * 60, "day": 24 * 60 * 60, "week": 7 * 24 * 60 * 60}


@dataclass(frozen=True)
class Panel:
    key: str
    title: object  # a lazy translation
    data: Callable[[datetime], object]  # since → what `kind` shows
    kind: str = "numbers"  # numbers: [{"label", "value", "url"?}]; table: [{column: value}]; line/bar: Chart.js data
    columns: tuple = ()  # table: (key, heading) pairs
    rank: int = 50


_panels: list[Panel] = []


def panel_add(panel: Panel) -> None:
    if panel.key not in {p.key for p in _panels}:
        _panels.append(panel)
        _panels.sort(key=lambda p: p.rank)


def panels() -> list[Panel]:
    return list(_panels)


# Plain recommendations derived from the numbers (the page and the daily report): each app adds its own.
_advisers: list[Callable[[datetime], list[str]]] = []


def advice_add(adviser: Callable[[datetime], list[str]]) -> None:
    if adviser not in _advisers:
        _advisers.append(adviser)


def advice(since: datetime) -> list[str]:
    return [line for adviser in _advisers for line in adviser(since)]
