"""cbportal.core.pagination: exact counts up to EXACT_COUNT_LIMIT rows, PostgreSQL's estimate
beyond, and every row reachable by following the pages whatever the estimate says."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.db import connection

from cbportal.core import pagination
from cbportal.core.models import ThematicArea
from cbportal.core.pagination import EstimatingPaginator

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="estimates come from PostgreSQL's planner; set DATABASE_URL to a PostgreSQL database",
)


@pytest.fixture
def areas(db: Any) -> Any:
    for n in range(30):
        ThematicArea.objects.create(slug=f"area-{n:02d}", name=f"Area {n:02d}", position=100 + n)
    return ThematicArea.objects.order_by("slug")


def test_it_counts_exactly_below_the_limit(areas):
    paginator = EstimatingPaginator(areas, 7)

    assert paginator.count == areas.count()
    assert not paginator.estimated
    assert paginator.num_pages == -(-areas.count() // 7)
    with pytest.raises(EmptyPage):
        paginator.page(paginator.num_pages + 1)


@postgres_only
def test_beyond_the_limit_it_estimates_and_says_so(
    areas, monkeypatch, django_assert_max_num_queries
):
    monkeypatch.setattr(pagination, "EXACT_COUNT_LIMIT", 10)
    monkeypatch.setattr(pagination, "planner_estimate", lambda queryset: 12)
    paginator = EstimatingPaginator(areas, 7)

    assert paginator.estimated
    assert paginator.count == 12  # the (wrong) estimate, never below the rows counted
    assert paginator.num_pages == 2


@postgres_only
def test_every_row_is_reached_by_following_the_pages_when_the_estimate_is_low(areas, monkeypatch):
    monkeypatch.setattr(pagination, "EXACT_COUNT_LIMIT", 10)
    monkeypatch.setattr(pagination, "planner_estimate", lambda queryset: 3)
    paginator = EstimatingPaginator(areas, 7)
    seen, page = [], paginator.page(1)
    while True:
        seen += [area.slug for area in page.object_list]
        if not page.has_next():
            break
        page = paginator.page(page.next_page_number())

    assert seen == list(areas.values_list("slug", flat=True))
    with pytest.raises(EmptyPage):
        paginator.page(page.number + 1)
    with pytest.raises(PageNotAnInteger):
        paginator.page("two")
    assert paginator.get_page(999).number == 1


@postgres_only
def test_the_planner_estimate_is_read_without_reading_rows(areas):
    estimate = pagination.planner_estimate(areas)

    assert estimate >= 1
