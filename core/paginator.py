"""Counts for admin lists over big tables."""

from __future__ import annotations

import json

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

EXACT_UP_TO = 10_000


class EstimatedCountPaginator(Paginator):
    """The exact count up to EXACT_UP_TO rows (a bounded count stops there); beyond it, PostgreSQL's planner
    estimate. A COUNT(*) of a million orders costs more than the page itself, and past ten thousand nobody pages
    to the end: the list says "10,000+" pages and staff filter or search instead."""

    @cached_property
    def count(self) -> int:
        queryset = self.object_list.order_by()
        capped = queryset[: EXACT_UP_TO + 1].count()
        if capped <= EXACT_UP_TO or connections[queryset.db].vendor != "postgresql":
            return capped
        sql, params = queryset.query.sql_with_params()
        with connections[queryset.db].cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        return max(int(plan[0]["Plan"]["Plan Rows"]), capped)
