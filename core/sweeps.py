"""Beat sweeps that keep up with their due work, however much of it piled up.

A sweep is a step that claims one batch of due rows (with SKIP LOCKED, or by a lease it writes on them) and
handles it. A run repeats the step until nothing is due or its time box is spent, so a backlog drains in one
run instead of a fixed number of rows per beat tick. When the first batch comes back full there is a backlog,
and the run asks for helpers: copies of its task that other worker processes pick up and that share the work
with it through the same claims. Time boxes are shorter than the beat interval, so runs never pile up.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings


def sweep(
    step: Callable[[int], int], *, batch_size: int, budget_seconds: float, helpers: Callable[[], None] | None
) -> int:
    """Run `step(batch_size)` until a batch comes back short (nothing more is due) or the budget is spent;
    returns the rows handled. `helpers` enqueues copies of the task once the first batch shows a backlog (None
    in a copy: only the run the beat started asks for help)."""
    deadline = time.monotonic() + budget_seconds
    total = 0
    while True:
        handled = step(batch_size)
        total += handled
        more = handled >= batch_size
        if more and helpers is not None:
            helpers()
            helpers = None
        if not more or time.monotonic() >= deadline:
            return total


def helpers_for(task, **kwargs) -> Callable[[], None]:
    """Enqueue SWEEP_WORKERS - 1 copies of `task` (as helpers: they ask for no help of their own)."""

    def enqueue() -> None:
        for _ in range(settings.SWEEP_WORKERS - 1):
            task.apply_async(kwargs={**kwargs, "helper": True})

    return enqueue
