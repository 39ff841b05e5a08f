"""``GET /api/v1/<collection>/export/?file=csv|xlsx``: every API list as a download, with
the same filters, search, ordering and permission scope as the list itself (the rows
come from the viewset's own ``filter_queryset(get_queryset())``; only pagination is
dropped). Columns come from the list's ``<app>/exports.py`` (shared with the pages)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request

from cbportal.core.errors import ApplicationError
from cbportal.core.exports import FORMATS, Column, export_response, requested_format

FILE_PARAMETER = OpenApiParameter(
    "file",
    str,
    OpenApiParameter.QUERY,
    required=True,
    enum=list(FORMATS),
    description="Download format: csv (UTF-8) or xlsx.",
)


class _FileRenderer(BaseRenderer):
    """Lets a client ask for the file's type in ``Accept``: the download itself is an
    ``HttpResponse`` the view builds; only an error (a dict) passes through here, as JSON."""

    charset = None

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        return JSONRenderer().render(data)


class CsvRenderer(_FileRenderer):
    media_type, format = "text/csv", "csv"


class XlsxRenderer(_FileRenderer):
    media_type, format = FORMATS["xlsx"], "xlsx"


class ExportMixin:
    """Add to a list viewset with ``export_columns`` and ``export_filename``; override
    ``export_rows`` to turn the queryset into rows (e.g. one row per measurement)."""

    export_columns: Sequence[Column] = ()
    export_filename: str = "export"

    def export_rows(self, queryset: Any) -> Any:
        return queryset

    @extend_schema(
        parameters=[FILE_PARAMETER],
        filters=True,
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="CSV file"),
            (
                200,
                FORMATS["xlsx"],
            ): OpenApiResponse(OpenApiTypes.BINARY, description="XLSX workbook"),
        },
        description="The list, with the same filters and scope, as a CSV or XLSX download.",
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="export",
        pagination_class=None,
        renderer_classes=[JSONRenderer, CsvRenderer, XlsxRenderer],
    )
    def export(self, request: Request) -> Any:
        fmt = requested_format(request, "file")  # type: ignore[arg-type]
        if fmt is None:
            raise ApplicationError(_("Choose CSV or XLSX for the download."), field="file")
        view: Any = self
        queryset = view.filter_queryset(view.get_queryset())
        return export_response(
            self.export_rows(queryset),
            self.export_columns,
            fmt=fmt,
            filename=self.export_filename,
            request=request,
        )
