"""Lists and pages of requests and assessments run a constant number of queries, however
many rows there are (issue 3 "Done when": assert with ``django_assert_max_num_queries`` at
two data sizes). Each row carries thematic areas, GCM objectives and working languages;
each assessment three capacity gaps.

The bounds were measured (3 and 30 rows give the same count) and leave no slack for an
N+1: one query more per row would add at least 27 at the larger size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cbportal.core.models import GcmObjective, Language, ThematicArea
from requests_app.models import NeedsAssessment
from tests.requests_app.helpers import make_assessment, make_request

OPEN_STATES = ["submitted", "under_review", "info_requested"]


def _tags() -> dict[str, Any]:
    return {
        "thematic_areas": list(ThematicArea.objects.filter(slug__in=["data", "governance"])),
        "gcm_objectives": list(GcmObjective.objects.filter(number__in=[1, 23])),
        "languages": list(Language.objects.filter(code__in=["fr", "en"])),
    }


def add_requests(personas: dict[str, Any], n: int) -> None:
    """``n`` open requests (cycling through the open states) of the partner's organisation,
    one in four of partner2's, and a draft and an accepted request every few rows."""
    tags = _tags()
    partner, partner2, staff = personas["partner"], personas["partner2"], personas["staff"]
    for i in range(n):
        owner = partner2 if i % 4 == 3 else partner
        make_request(OPEN_STATES[i % 3], owner, staff, **tags)
        if i % 5 == 0:
            make_request("draft", owner, **tags)


def add_assessments(personas: dict[str, Any], n: int) -> None:
    """``n`` shared assessments with three gaps each (their requests are accepted)."""
    tags = _tags()
    partner, staff = personas["partner"], personas["staff"]
    for _ in range(n):
        make_assessment(partner, staff, gaps=3, state="shared", **tags)


def count_queries(fetch: Callable[[], Any]) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = fetch()
    assert response.status_code == 200, response.content[:500]
    return len(ctx.captured_queries)


# endpoint -> (who, how to fetch, what to populate, measured bound)
ENDPOINTS: dict[str, tuple[str, str, str, str, int]] = {
    "api-requests-staff": ("staff", "api", "/api/v1/requests/", "requests", 5),
    "api-requests-partner": ("partner", "api", "/api/v1/requests/", "requests", 5),
    "api-assessments-staff": ("staff", "api", "/api/v1/assessments/", "assessments", 3),
    "api-assessments-partner": ("partner", "api", "/api/v1/assessments/", "assessments", 3),
    "page-requests-staff": ("staff", "page", "/requests/", "requests", 8),
    "page-requests-partner": ("partner", "page", "/requests/", "requests", 8),
    "page-triage-staff": ("staff", "page", "/requests/triage/", "requests", 11),
    "page-home-staff": ("staff", "page", "/", "both", 9),
    "page-home-partner": ("partner", "page", "/", "both", 12),
}


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_it_keeps_the_query_count_constant_as_rows_grow(
    endpoint, personas, api_as, client, django_assert_max_num_queries
):
    who, kind, path, data, bound = ENDPOINTS[endpoint]
    user = personas[who]
    if kind == "api":
        api = api_as(user)

        def fetch() -> Any:
            return api.get(path)
    else:
        client.force_login(user)

        def fetch() -> Any:
            return client.get(path)

    def populate(n: int) -> None:
        if data in ("requests", "both"):
            add_requests(personas, n)
        if data in ("assessments", "both"):
            add_assessments(personas, n)

    populate(3)
    fetch()  # warm caches that are filled once per process (content types, templates)
    with django_assert_max_num_queries(bound):
        small = count_queries(fetch)
    populate(27)
    with django_assert_max_num_queries(bound):
        large = count_queries(fetch)

    assert large == small, f"{endpoint}: {small} queries with 3 rows, {large} with 30"
    if data == "assessments":
        assert NeedsAssessment.objects.count() == 30
