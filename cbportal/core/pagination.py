"""Pages over large tables without counting them: the paginator every list page and the
API's lists use.

Counting a search over a six-figure roster takes longer than finding its first page (a
COUNT visits every matching row; the first 50 rows in index order stop early). So
``EstimatingPaginator`` counts exactly only up to ``EXACT_COUNT_LIMIT`` matching rows (a
COUNT over a LIMIT, which stops there); beyond that the total is PostgreSQL's planner
estimate (``EXPLAIN``, no rows read) and ``estimated`` is true: pages say "about",
the API says ``count_is_estimate``. An estimate may be wrong either way, so no page is
refused for being past it, and whether there is a next page is read from the rows
themselves (one more row is fetched than shown): a client that follows ``next`` always
reaches the last row. Other databases (SQLite, the embedded default) count exactly.
"""

from __future__ import annotations

import json
import math
from typing import Any

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property

# Up to this many matching rows, lists show the exact number.
EXACT_COUNT_LIMIT = 1000


def planner_estimate(queryset: QuerySet[Any]) -> int:
    """How many rows PostgreSQL's planner expects ``queryset`` to return (no row is read)."""
    # Only the filters matter: the joins of select_related would only slow the planning.
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class EstimatedPage(Page):
    """A page of an estimated list: it knows from its own rows whether another follows."""

    def __init__(self, object_list: Any, number: int, paginator: Any, *, more: bool) -> None:
        super().__init__(object_list, number, paginator)
        self.more = more

    def has_next(self) -> bool:
        return self.more


class EstimatingPaginator(Paginator):
    """``Paginator`` with an exact count up to ``EXACT_COUNT_LIMIT`` rows and the planner's
    estimate beyond (PostgreSQL only; see the module docstring)."""

    @cached_property
    def _postgres(self) -> bool:
        queryset = self.object_list
        return isinstance(queryset, QuerySet) and connections[queryset.db].vendor == "postgresql"

    @cached_property
    def _bounded_count(self) -> int:
        queryset: Any = self.object_list
        return int(queryset.order_by()[: EXACT_COUNT_LIMIT + 1].count())

    @cached_property
    def estimated(self) -> bool:
        return self._postgres and self._bounded_count > EXACT_COUNT_LIMIT

    @cached_property
    def count(self) -> int:
        if not self._postgres:
            return int(super().count)
        if not self.estimated:
            return self._bounded_count
        queryset: Any = self.object_list
        return max(self._bounded_count, planner_estimate(queryset))

    @property
    def num_pages(self) -> int:  # type: ignore[override]
        if not self.estimated:
            return int(super().num_pages)
        return max(1, math.ceil(self.count / self.per_page))

    def validate_number(self, number: Any) -> int:
        """As ``Paginator``'s, but past an estimate every page may exist."""
        if not self.estimated:
            return int(super().validate_number(number))
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from None
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        return int(number)

    def page(self, number: Any) -> Page:
        if not self.estimated:
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        if not rows and number > 1:
            raise EmptyPage(self.error_messages["no_results"])
        return EstimatedPage(rows[: self.per_page], number, self, more=len(rows) > self.per_page)

    def get_page(self, number: Any) -> Page:
        """As ``Paginator``'s: a page number that is not one, or past the rows, shows the
        first page (the last one is unknown when the count is an estimate)."""
        if not self.estimated:
            return super().get_page(number)
        try:
            return self.page(number)
        except (PageNotAnInteger, EmptyPage):
            return self.page(1)
