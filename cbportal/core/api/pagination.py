from typing import Any

from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from cbportal.core.pagination import EXACT_COUNT_LIMIT, EstimatingPaginator


class PagePagination(PageNumberPagination):
    """``{count, count_is_estimate, next, previous, results}`` with ``?page=`` and
    ``?page_size=`` (≤ 200). Beyond ``EXACT_COUNT_LIMIT`` matching rows on PostgreSQL,
    ``count`` is the planner's estimate (``count_is_estimate``); ``next`` is always right."""

    page_size_query_param = "page_size"
    max_page_size = 200
    django_paginator_class = EstimatingPaginator

    def get_paginated_response(self, data: Any) -> Response:
        assert self.page is not None
        paginator = self.page.paginator
        return Response(
            {
                "count": paginator.count,
                "count_is_estimate": bool(getattr(paginator, "estimated", False)),
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        response = super().get_paginated_response_schema(schema)
        response["properties"]["count"]["description"] = (
            f"Matching rows: exact up to {EXACT_COUNT_LIMIT:,}, PostgreSQL's estimate beyond."
        )
        response["properties"] = {
            "count": response["properties"]["count"],
            "count_is_estimate": {
                "type": "boolean",
                "description": "Whether count is an estimate (then follow next to the end).",
            },
            **{k: v for k, v in response["properties"].items() if k != "count"},
        }
        response["required"] = ["count", "count_is_estimate", "results"]
        return response
