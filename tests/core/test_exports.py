"""The shared CSV/XLSX machinery (cbportal/core/exports.py) and the parsing helpers the
export tests of every app use: ``csv_rows`` and ``xlsx_rows`` read a download back with the
csv module and openpyxl, the way a spreadsheet user would get it."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import openpyxl
import pytest
from django.test import RequestFactory
from django.utils import timezone

from cbportal.core.errors import ApplicationError
from cbportal.core.exports import Column, export_response, plain, requested_format

# --- helpers for every export test ------------------------------------------------------------


def export_request(fmt: str = "csv") -> Any:
    """A download request by a staff member, as the list views receive it (every download
    is audited with its actor)."""
    from tests.factories import UserFactory

    request = RequestFactory().get("/list/", {"export": fmt})
    request.user = UserFactory()
    return request


def body(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return bytes(response.content)


def csv_rows(response: Any) -> list[list[str]]:
    """The CSV download as rows of strings (header first); checks the UTF-8 BOM and type."""
    assert response.status_code == 200, body(response)[:500]
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    text = body(response).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def xlsx_rows(response: Any) -> list[list[Any]]:
    """The XLSX download as rows of typed cell values (header first)."""
    assert response.status_code == 200, body(response)[:500]
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    workbook = openpyxl.load_workbook(io.BytesIO(body(response)), read_only=True)
    sheet = workbook.worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def as_dicts(rows: list[list[Any]]) -> list[dict[str, Any]]:
    header, *data = rows
    return [dict(zip(header, row, strict=True)) for row in data]


def headers(columns: Any) -> list[str]:
    return [str(column.header) for column in columns]


# --- the machinery ---------------------------------------------------------------------------

ROW = SimpleNamespace(
    title='=HYPERLINK("http://evil.example","click")',
    count=3,
    amount=Decimal("12.50"),
    day=date(2026, 3, 1),
    owner=SimpleNamespace(name="Amina"),
    missing=None,
    flag=True,
    tags=["+a", "b"],
    get_kind_display=lambda: "Training",
)
COLUMNS = (
    Column("Title", "title"),
    Column("Count", "count"),
    Column("Amount", "amount"),
    Column("Day", "day"),
    Column("Owner", "owner.name"),
    Column("Missing", "missing.name"),
    Column("Flag", "flag"),
    Column("Tags", "tags"),
    Column("Kind", "get_kind_display"),
    Column("Computed", lambda row: row.count * 2),
)


def test_it_reads_dotted_paths_display_methods_and_functions():
    assert [column.read(ROW) for column in COLUMNS[4:]] == [
        "Amina",
        None,
        True,
        ["+a", "b"],
        "Training",
        6,
    ]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_it_defuses_formulas(start):
    assert plain(f"{start}SUM(A1:A2)") == f"'{start}SUM(A1:A2)"


def test_it_keeps_numbers_and_dates_typed():
    moment = timezone.make_aware(datetime(2026, 3, 1, 9, 30, 15, 123))
    assert plain(-5) == -5
    assert plain(Decimal("-1.5")) == Decimal("-1.5")
    assert plain(date(2026, 3, 1)) == date(2026, 3, 1)
    assert plain(moment) == datetime(2026, 3, 1, 9, 30, 15)
    assert plain(None) == ""
    assert plain(True) == "yes"
    assert plain(["=a", "b"]) == "'=a; b"


def test_it_writes_a_csv_with_bom_and_guarded_cells():
    response = export_response(
        [ROW], COLUMNS, fmt="csv", filename="My list", request=export_request()
    )
    assert 'filename="my-list-' in response["Content-Disposition"]
    rows = csv_rows(response)
    assert rows[0] == headers(COLUMNS)
    assert rows[1] == [
        '\'=HYPERLINK("http://evil.example","click")',
        "3",
        "12.50",
        "2026-03-01",
        "Amina",
        "",
        "yes",
        "'+a; b",
        "Training",
        "6",
    ]


def test_it_writes_a_typed_xlsx_with_guarded_cells():
    rows = xlsx_rows(
        export_response([ROW], COLUMNS, fmt="xlsx", filename="list", request=export_request("xlsx"))
    )
    assert rows[0] == headers(COLUMNS)
    title, count, amount, day, *_rest = rows[1]
    assert title == '\'=HYPERLINK("http://evil.example","click")'
    assert count == 3
    assert amount == 12.5
    assert day == datetime(2026, 3, 1)


@pytest.mark.django_db
def test_it_writes_an_xlsx_of_text_with_control_characters():
    # Found by .ci/fuzz-api: a name saved with a control character made the XLSX a 500.
    row = SimpleNamespace(name="Ama\x01 Mensah\x1b")
    rows = xlsx_rows(
        export_response(
            [row],
            (Column("Name", "name"),),
            fmt="xlsx",
            filename="l",
            request=export_request("xlsx"),
        )
    )
    assert rows[1] == ["Ama Mensah"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [("", None), ("export=", None), ("export=csv", "csv"), ("export=xlsx", "xlsx")],
)
def test_it_reads_the_requested_format(query, expected):
    assert requested_format(RequestFactory().get(f"/x/?{query}")) == expected


def test_it_refuses_other_formats_clearly():
    with pytest.raises(ApplicationError) as refused:
        requested_format(RequestFactory().get("/x/?export=pdf"))
    assert "Choose CSV or XLSX" in refused.value.message
    assert "pdf" in refused.value.message
    assert refused.value.field == "export"


def test_the_schema_documents_the_filters_of_each_download(client):
    schema = client.get("/api/schema/?format=json").json()
    for path, expected in (
        ("/api/v1/requests/export/", {"file", "status", "organisation", "search", "ordering"}),
        ("/api/v1/actions/export/", {"file", "status", "organisation", "country"}),
        ("/api/v1/activities/export/", {"file", "action", "type"}),
        ("/api/v1/experts/export/", {"file", "language", "min_level", "nationality"}),
        ("/api/v1/deployments/export/", {"file", "status", "expert", "action"}),
    ):
        operation = schema["paths"][path]["get"]
        assert expected <= {p["name"] for p in operation["parameters"]}, path
        assert "text/csv" in operation["responses"]["200"]["content"]
