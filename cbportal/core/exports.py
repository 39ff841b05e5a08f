"""CSV and XLSX downloads of any list, from one description of its columns.

A list declares its columns once (``Column(_("Reference"), "reference")`` or with a
function) and both the page and the API hand the *same filtered, permission-scoped*
queryset to ``export_response``. CSV is streamed (UTF-8 with a byte-order mark so that
spreadsheet programs read accents right); XLSX is written by openpyxl in write-only mode.
Cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` …) are prefixed
with an apostrophe (CSV injection). Each download writes an audit entry first.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Model, QuerySet
from django.http import FileResponse, HttpRequest, StreamingHttpResponse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from cbportal.core import audit
from cbportal.core.errors import ApplicationError

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    """One column: a header (translated when the file is made) and either a dotted
    attribute path (``"organisation.name"``, a ``get_<field>_display`` works too) or a
    function of the row."""

    header: Any
    value: str | Callable[[Any], Any]

    def read(self, row: Any) -> Any:
        if callable(self.value):
            return self.value(row)
        current = row
        for part in self.value.split("."):
            if current is None:
                return None
            current = getattr(current, part)
            if callable(current):
                current = current()
        return current


def requested_format(request: HttpRequest, param: str = "export") -> str | None:
    """``csv`` or ``xlsx`` when the request asks for a download (``?export=csv``), None
    when it does not; an unknown format is refused with a clear error."""
    fmt = request.GET.get(param)
    if fmt is None or fmt == "":
        return None
    if fmt not in FORMATS:
        raise ApplicationError(
            _("Choose CSV or XLSX for the download (“%(format)s” is not available).")
            % {"format": fmt[:20]},
            field=param,
        )
    return fmt


def download_format(
    request: HttpRequest, *, announce: bool = True
) -> tuple[str | None, str | None]:
    """For list pages: (``csv``/``xlsx`` or None, why the format asked for is refused or
    None). With ``announce`` the refusal is also added to the page's messages."""
    try:
        return requested_format(request), None
    except ApplicationError as exc:
        if announce:
            from django.contrib import messages

            messages.error(request, exc.message)
        return None, exc.message


def plain(value: Any) -> Any:
    """A cell value: numbers and dates stay typed; everything else becomes text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        return value.replace(tzinfo=None, microsecond=0)
    if isinstance(value, date):
        return value
    if isinstance(value, Model):
        return str(value)
    if isinstance(value, list | tuple | set | QuerySet):
        return "; ".join(str(plain(item)) for item in value)
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        text = "'" + text
    return text


def _rows(rows: Iterable[Any], columns: Sequence[Column]) -> Iterator[list[Any]]:
    if isinstance(rows, QuerySet):
        rows = rows.iterator(chunk_size=2000)
    for row in rows:
        yield [plain(column.read(row)) for column in columns]


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def export_response(
    rows: Iterable[Any],
    columns: Sequence[Column],
    *,
    fmt: str,
    filename: str,
    request: HttpRequest,
) -> StreamingHttpResponse | FileResponse:
    """The download of ``rows`` (a queryset is read in chunks) as ``fmt`` (csv or xlsx),
    named ``<filename>-<date>.<fmt>``. Every download is audited (who, which list, which
    filters) before a byte is sent."""
    if fmt not in FORMATS:
        raise ApplicationError(_("Choose CSV or XLSX for the download."), field="export")
    audit.audit_export(request, fmt=fmt, rows=rows)
    stamp = timezone.localdate().isoformat()
    name = f"{slugify(filename) or 'export'}-{stamp}.{fmt}"
    headers = [str(column.header) for column in columns]
    if fmt == "csv":
        writer = csv.writer(_Echo())

        def stream() -> Iterator[str]:
            yield "\ufeff" + writer.writerow(headers)
            for values in _rows(rows, columns):
                yield writer.writerow([_csv_cell(v) for v in values])

        response = StreamingHttpResponse(stream(), content_type=FORMATS["csv"])
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    return FileResponse(
        xlsx_file(rows, columns, headers),
        as_attachment=True,
        filename=name,
        content_type=FORMATS["xlsx"],
    )


def xlsx_file(rows: Iterable[Any], columns: Sequence[Column], headers: list[str]) -> Any:
    """An open temporary file holding the workbook (one sheet, header row frozen)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("Export")[:31])
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for values in _rows(rows, columns):
        # XML 1.0 cannot hold most control characters (openpyxl refuses them): a name
        # stored with one would otherwise make the whole download a 500.
        sheet.append(
            [ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in values]
        )
    handle = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115 - FileResponse closes it
    workbook.save(handle)
    handle.seek(0)
    return handle
