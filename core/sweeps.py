"""Beat sweeps that keep up with their due work, however much of it piled up.

A sweep is a step that claims one batch of due rows (with SKIP LOCKED, or by a lease it writes on them) and
handles it. A run repeats the step until nothing is due or its time box is spent, so a backlog drains in one
go instead of a fixed number of rows per beat tick. When the beat's run finds its first batch full there is a
backlog, and it sends helpers: copies of its task that other worker processes pick up and that share the work
through the same claims. A run whose time box ends with work left sends one copy to go on at once, so a backlog
never waits for the next tick; time boxes keep any one task short (a worker restart loses little).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings


def sweep(
    step: Callable[[int], int],
    *,
    batch_size: int,
    budget_seconds: float,
    helper: bool = False,
    enqueue: Callable[[int], None] | None = None,
) -> int:
    """Run `step(batch_size)` until a batch comes back short (nothing more is due) or the budget is spent;
    returns the rows handled. `enqueue(n)` sends n helper copies of the task (None: the sweep runs alone)."""
    deadline = time.monotonic() + budget_seconds
    total, first = 0, True
    while True:
        handled = step(batch_size)
        total += handled
        more = handled >= batch_size
        if more and first and not helper and enqueue is not None:
            enqueue(settings.SWEEP_WORKERS - 1)
        first = False
        if not more:
            return total
        if time.monotonic() >= deadline:
            if enqueue is not None:
                enqueue(1)  # go on in a fresh task
            return total


def helpers_of(task, **kwargs) -> Callable[[int], None]:
    """Enqueue n copies of `task` as helpers (they send no helpers of their own)."""

    def enqueue(n: int) -> None:
        for _ in range(n):
            task.apply_async(kwargs={**kwargs, "helper": True})

    return enqueue
