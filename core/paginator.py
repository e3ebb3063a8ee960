"""Counts for admin lists over big tables."""

from __future__ import annotations

import json

from django.core.paginator import Paginator
from django.db import OperationalError, connections, transaction
from django.utils.functional import cached_property
from psycopg import errors

EXACT_UP_TO = 10_000
COUNT_BUDGET_MS = 100


class EstimatedCountPaginator(Paginator):
    """The exact count up to EXACT_UP_TO rows (a bounded count stops there); beyond it, PostgreSQL's planner
    estimate. A COUNT(*) of a million orders costs more than the page itself, and past ten thousand nobody pages
    to the end: the list says "10,000+" pages and staff filter or search instead.

    The bounded count gets COUNT_BUDGET_MS: a filter few rows pass (a word in one order of a hundred) walks the
    whole table to count ten thousand of them, while the page of the newest is found at once; past the budget
    the estimate stands in for it (a page at least)."""

    @cached_property
    def count(self) -> int:
        queryset = self.object_list.order_by()
        connection = connections[queryset.db]
        if connection.vendor != "postgresql":
            return queryset[: EXACT_UP_TO + 1].count()
        capped = self._count_within_budget(queryset, connection)
        if capped is not None and capped <= EXACT_UP_TO:
            return capped
        sql, params = queryset.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        # At least a page: the first page's rows are sliced up to the count (its other rows are unknown here).
        return max(int(plan[0]["Plan"]["Plan Rows"]), capped or self.per_page)

    @staticmethod
    def _count_within_budget(queryset, connection) -> int | None:
        """The bounded count, or None when it ran past the budget (cancelled by PostgreSQL, in a savepoint)."""
        try:
            with transaction.atomic(using=queryset.db), connection.cursor() as cursor:
                cursor.execute(
                    "SELECT current_setting('statement_timeout'), set_config('statement_timeout', %s, true)",
                    [str(COUNT_BUDGET_MS)],
                )
                before = cursor.fetchone()[0]
                capped = queryset[: EXACT_UP_TO + 1].count()
                # Put back: a local setting would otherwise last to the end of the request's transaction.
                cursor.execute("SELECT set_config('statement_timeout', %s, true)", [before])
                return capped
        except OperationalError as exc:
            if isinstance(exc.__cause__, errors.QueryCanceled):
                return None
            raise
