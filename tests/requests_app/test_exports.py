"""Downloads of requests: the request list and the triage queue pages (``?export=csv|xlsx``
with the page's own filters) and ``GET /api/v1/requests/export/?file=csv|xlsx`` — read back
with csv and openpyxl: headers, values, filters, who gets which rows, refusals, queries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from requests_app.exports import REQUEST_COLUMNS, TRIAGE_COLUMNS
from tests.core.test_exports import as_dicts, body, csv_rows, headers, xlsx_rows
from tests.requests_app.helpers import REQUEST_URL, make_draft, make_request

EXPORT_URL = f"{REQUEST_URL}export/"


@pytest.fixture
def cases(partner: Any, partner2: Any, staff: Any) -> dict[str, Any]:
    return {
        "draft": make_draft(partner, title="Draft on data"),
        "submitted": make_request("submitted", partner, title="Submitted on borders"),
        "review": make_request("under_review", partner, staff, title="Reviewed on asylum"),
        "other": make_request("submitted", partner2, title="Other organisation's request"),
    }


def get(client: Any, user: Any, url: str) -> Any:
    client.force_login(user)
    return client.get(url)


def titles(rows: list[list[Any]]) -> set[str]:
    return {row["Title"] for row in as_dicts(rows)}


# --- the request list page ---------------------------------------------------------------------


def test_it_downloads_the_partners_own_requests_as_csv(client, partner, cases):
    rows = csv_rows(get(client, partner, "/requests/?export=csv"))
    assert rows[0] == headers(REQUEST_COLUMNS)
    assert titles(rows) == {"Draft on data", "Submitted on borders", "Reviewed on asylum"}
    submitted = next(r for r in as_dicts(rows) if r["Title"] == "Submitted on borders")
    request = cases["submitted"]
    assert submitted["Reference"] == request.reference
    assert submitted["Organisation"] == "Directorate of Migration"
    assert submitted["Country"] == "Tunisia"
    assert submitted["Region"] == "Africa"
    assert submitted["Status"] == "Submitted"  # the label, not "submitted"
    assert submitted["Thematic areas"] == "Data production, collection and analysis"
    assert submitted["GCM objectives"] == "1"
    assert submitted["Working languages"] == "French"
    assert submitted["Preferred start"] == request.preferred_start.isoformat()
    assert submitted["Submitted"].startswith(request.submitted_at.date().isoformat())
    draft = next(r for r in as_dicts(rows) if r["Title"] == "Draft on data")
    assert draft["Reference"] == "Draft"
    assert draft["Submitted"] == ""


def test_it_never_gives_a_partner_another_organisations_requests(client, partner2, cases):
    rows = csv_rows(get(client, partner2, "/requests/?export=csv"))
    assert titles(rows) == {"Other organisation's request"}


def test_it_downloads_typed_xlsx(client, staff, cases):
    rows = xlsx_rows(get(client, staff, "/requests/?export=xlsx&status=under_review"))
    assert rows[0] == headers(REQUEST_COLUMNS)
    (reviewed,) = as_dicts(rows)
    assert reviewed["Title"] == "Reviewed on asylum"
    assert reviewed["Case officer"] == cases["review"].case_officer.display_name
    assert isinstance(reviewed["Preferred start"], datetime)
    assert reviewed["Preferred start"].date() == cases["review"].preferred_start
    assert isinstance(reviewed["Submitted"], datetime)
    assert reviewed["GCM objectives"] == "1"


def test_it_applies_the_pages_filter(client, staff, cases):
    rows = csv_rows(get(client, staff, "/requests/?status=submitted&export=csv&page=2"))
    assert titles(rows) == {"Submitted on borders", "Other organisation's request"}


def test_it_refuses_an_unknown_status_instead_of_downloading_everything(client, staff, cases):
    response = get(client, staff, "/requests/?status=granted&export=csv")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "Choose a status from the list." in page
    assert 'aria-invalid="true"' in page
    assert 'data-testid="request-table"' not in page
    assert 'data-testid="download-csv"' not in page


def test_it_refuses_a_pdf_download_clearly(client, partner, cases):
    response = get(client, partner, "/requests/?export=pdf")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "Choose CSV or XLSX for the download" in response.content.decode()


@pytest.mark.parametrize("persona", ["expert", "evaluator"])
def test_it_downloads_nothing_for_roles_without_the_list(client, request, cases, persona):
    assert get(client, request.getfixturevalue(persona), "/requests/?export=csv").status_code == 403


def test_it_defuses_formulas_in_titles(client, partner):
    make_draft(partner, title='=HYPERLINK("http://evil.example")')
    (row,) = as_dicts(csv_rows(get(client, partner, "/requests/?export=csv")))
    assert row["Title"] == '\'=HYPERLINK("http://evil.example")'
    (cell,) = as_dicts(xlsx_rows(get(client, partner, "/requests/?export=xlsx")))
    assert cell["Title"] == '\'=HYPERLINK("http://evil.example")'


def test_it_links_the_downloads_with_the_current_filter(client, staff, cases):
    page = get(client, staff, "/requests/?status=submitted&page=1").content.decode()
    assert 'href="?status=submitted&amp;export=csv"' in page
    assert 'href="?status=submitted&amp;export=xlsx"' in page


def _queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
        body(response)  # the CSV streams: its queries run while it is read
    return len(queries)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_it_downloads_in_a_constant_number_of_queries(client, partner, staff, fmt):
    client.force_login(partner)
    url = f"/requests/?export={fmt}"
    make_request("submitted", partner)
    _queries(client, url)
    small = _queries(client, url)
    for _ in range(4):
        make_request("under_review", partner, staff)
    large = _queries(client, url)
    assert large == small
    assert len(as_dicts((csv_rows if fmt == "csv" else xlsx_rows)(client.get(url)))) == 5


# --- the triage queue page -----------------------------------------------------------------------


def test_it_downloads_the_filtered_triage_queue(client, staff, cases):
    rows = csv_rows(get(client, staff, "/requests/triage/?status=under_review&export=csv"))
    assert rows[0] == headers(TRIAGE_COLUMNS)
    (row,) = as_dicts(rows)
    assert row["Title"] == "Reviewed on asylum"
    assert row["Service level"] in ("On time", "Due soon", "Overdue")
    assert row["Service level due"] != ""


def test_it_downloads_only_open_requests_from_the_queue(client, staff, cases):
    rows = csv_rows(get(client, staff, "/requests/triage/?export=csv"))
    assert titles(rows) == {
        "Submitted on borders",
        "Reviewed on asylum",
        "Other organisation's request",
    }


def test_it_refuses_invalid_triage_filters(client, staff, cases):
    response = get(client, staff, "/requests/triage/?country=XX&export=xlsx")
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_country_error"' in page
    assert 'aria-invalid="true"' in page
    assert 'data-testid="triage-table"' not in page
    assert 'data-testid="download-csv"' not in page


def test_it_keeps_the_triage_queue_for_staff(client, partner, cases):
    assert get(client, partner, "/requests/triage/?export=csv").status_code == 403


# --- the API -----------------------------------------------------------------------------------


def test_it_exports_the_api_list_with_its_scope(api_as, partner, partner2, cases):
    rows = csv_rows(api_as(partner).get(f"{EXPORT_URL}?file=csv"))
    assert rows[0] == headers(REQUEST_COLUMNS)
    assert titles(rows) == {"Draft on data", "Submitted on borders", "Reviewed on asylum"}
    rows = xlsx_rows(api_as(partner2).get(f"{EXPORT_URL}?file=xlsx"))
    assert titles(rows) == {"Other organisation's request"}


def test_it_exports_the_api_list_with_its_filters(api_as, staff, partner2, cases):
    query = f"status=submitted&organisation={partner2.organisation_id}&file=csv"
    assert titles(csv_rows(api_as(staff).get(f"{EXPORT_URL}?{query}"))) == {
        "Other organisation's request"
    }
    query = "search=asylum&ordering=title&file=xlsx"
    assert titles(xlsx_rows(api_as(staff).get(f"{EXPORT_URL}?{query}"))) == {"Reviewed on asylum"}


def test_it_refuses_a_filter_on_an_organisation_the_partner_may_not_see(
    api_as, partner, partner2, cases
):
    client = api_as(partner)
    for url in (
        f"{EXPORT_URL}?file=csv&organisation={partner2.organisation_id}",
        f"{REQUEST_URL}?organisation={partner2.organisation_id}",
    ):
        response = client.get(url)
        assert response.status_code == 400
        (error,) = response.json()["errors"]
        assert error["attr"] == "organisation"
        assert "among those whose requests you may see" in error["detail"]
    own = client.get(f"{EXPORT_URL}?file=csv&organisation={partner.organisation_id}")
    assert len(csv_rows(own)) == 4


def test_it_refuses_bad_api_filters(api_as, staff, cases):
    response = api_as(staff).get(f"{EXPORT_URL}?file=csv&status=granted")
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "status"


@pytest.mark.parametrize("query", ["", "?file=pdf", "?export=csv"])
def test_it_refuses_an_api_export_without_a_known_format(api_as, staff, query):
    response = api_as(staff).get(f"{EXPORT_URL}{query}")
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["attr"] == "file"
    assert "Choose CSV or XLSX" in error["detail"]


@pytest.mark.parametrize("persona", ["expert", "evaluator"])
def test_it_exports_an_empty_list_to_roles_that_see_none(api_as, request, cases, persona):
    rows = csv_rows(api_as(request.getfixturevalue(persona)).get(f"{EXPORT_URL}?file=csv"))
    assert rows == [headers(REQUEST_COLUMNS)]


def test_it_asks_anonymous_api_clients_to_sign_in(api, cases):
    assert api.get(f"{EXPORT_URL}?file=csv").status_code == 401


def test_it_serves_a_client_that_accepts_only_csv(api_as, staff, cases):
    response = api_as(staff).get(f"{EXPORT_URL}?file=csv", HTTP_ACCEPT="text/csv")
    assert response.status_code == 200


def test_it_exports_the_api_list_in_a_constant_number_of_queries(api_as, partner, staff):
    client = api_as(partner)
    url = f"{EXPORT_URL}?file=csv"
    make_request("submitted", partner)
    _queries(client, url)
    small = _queries(client, url)
    for _ in range(4):
        make_request("under_review", partner, staff)
    assert _queries(client, url) == small


def test_it_translates_headers_and_labels(client, partner, cases):
    partner.language = "fr"
    partner.save(update_fields=["language"])
    client.force_login(partner)
    rows = csv_rows(client.get("/requests/?export=csv&status=submitted"))
    assert rows[0][:6] == ["Référence", "Titre", "Organisation", "Pays", "Région", "Statut"]
    (row,) = as_dicts(rows)
    assert row["Statut"] == "Soumise"
    assert row["Pays"] == "Tunisie"
