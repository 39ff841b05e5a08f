"""Downloads of the roster and of deployments: the roster search page, the deployment list
and the deployment board (``?export=csv|xlsx``), ``GET /api/v1/experts/export/`` and
``GET /api/v1/deployments/export/`` — read back with csv and openpyxl. The roster never
carries a CV; each role gets the deployments its list shows, nothing more."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from experts import services
from experts.exports import (
    DEPLOYMENT_COLUMNS,
    DEPLOYMENT_EXPERT_COLUMNS,
    DEPLOYMENT_STAFF_COLUMNS,
    EXPERT_COLUMNS,
)
from experts.models import Expert
from tests.core.test_exports import as_dicts, body, csv_rows, headers, xlsx_rows
from tests.experts.builders import approved_action, deployment_in, first_need, make_expert

EXPERTS = "/api/v1/experts/"
DEPLOYMENTS = "/api/v1/deployments/"


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def roster(expert: Any, staff: Any) -> dict[str, Any]:
    amina = make_expert(expert, by=staff, email="amina@example.org", phone="+221 33 000 00 00")
    services.expert_cv_upload(
        expert_id=amina.pk,
        by=staff,
        upload=SimpleUploadedFile("amina-cv.pdf", _pdf(), content_type="application/pdf"),
    )
    return {
        "amina": amina,
        "jan": make_expert(
            name="Jan Novak",
            languages=(("fr", "B2"), ("cs", "C2")),
            administration_type="eu_member_state",
            nationality="CZ",
            countries=("MA",),
            by=staff,
        ),
        "pending": make_expert(name="Pending Person", vetted=False, by=staff),
    }


def _pdf() -> bytes:
    from tests.requests_app.helpers import PDF_BYTES

    return PDF_BYTES


def get(client: Any, user: Any, url: str) -> Any:
    client.force_login(user)
    return client.get(url)


def names(rows: list[list[Any]], column: str = "Name") -> list[str]:
    return sorted(row[column] for row in as_dicts(rows))


# --- the roster ------------------------------------------------------------------------------


def test_it_downloads_the_roster_without_cvs(client, staff, roster):
    response = get(client, staff, "/experts/?export=csv")
    rows = csv_rows(response)
    assert rows[0] == headers(EXPERT_COLUMNS)
    assert names(rows) == ["Amina Diallo", "Jan Novak", "Pending Person"]
    amina = next(r for r in as_dicts(rows) if r["Name"] == "Amina Diallo")
    assert amina["Contact email"] == "amina@example.org"
    assert amina["Phone"] == "'+221 33 000 00 00"  # a leading "+" is defused
    assert amina["Administration type"] == "Partner-country administration"
    assert amina["Nationality"] == "Senegal"
    assert amina["Languages"] == "French C1; English B2"
    assert amina["Thematic areas"] == "Data production, collection and analysis"
    assert amina["Skills"] == "statistics"
    assert amina["Countries of experience"] == "Tunisia"
    assert amina["Vetting"] == "Approved"
    assert amina["Active"] == "yes"
    assert Expert.objects.get(pk=roster["amina"].pk).cv_name == "amina-cv.pdf"
    text = body(get(client, staff, "/experts/?export=csv")).decode()
    assert "amina-cv" not in text and "cv/" not in text.lower()
    assert not any("cv" in h.lower() for h in rows[0])


def test_it_downloads_the_searched_roster_as_xlsx(client, staff, roster):
    rows = xlsx_rows(get(client, staff, "/experts/?language=cs&min_level=C1&export=xlsx"))
    (jan,) = as_dicts(rows)
    assert jan["Name"] == "Jan Novak"
    assert jan["Years of experience"] == 10
    assert isinstance(jan["Created"], datetime)
    rows = csv_rows(get(client, staff, "/experts/?vetting_status=pending&export=csv"))
    assert names(rows) == ["Pending Person"]


def test_it_refuses_invalid_roster_filters(client, staff, roster):
    response = get(client, staff, "/experts/?min_level=C1&export=csv")  # no language
    assert response.status_code == 400
    page = response.content.decode()
    assert "Choose the language the level is for." in page
    assert 'data-testid="download-csv"' not in page


def test_it_refuses_a_pdf_roster(client, staff, roster):
    response = get(client, staff, "/experts/?export=pdf")
    assert response.status_code == 400
    assert "Choose CSV or XLSX for the download" in response.content.decode()


@pytest.mark.parametrize("persona", ["partner", "expert", "evaluator"])
def test_it_keeps_the_roster_download_for_staff(client, request, roster, persona):
    assert get(client, request.getfixturevalue(persona), "/experts/?export=csv").status_code == 403


def test_it_links_the_roster_downloads_with_the_search(client, staff, roster):
    page = get(client, staff, "/experts/?q=statistics&page=1").content.decode()
    assert 'href="?q=statistics&amp;export=csv"' in page


def test_it_exports_the_roster_through_the_api(api_as, staff, expert, partner, roster):
    rows = csv_rows(api_as(staff).get(f"{EXPERTS}export/?file=csv&nationality=cz"))
    assert rows[0] == headers(EXPERT_COLUMNS)
    assert names(rows) == ["Jan Novak"]
    own = xlsx_rows(api_as(expert).get(f"{EXPERTS}export/?file=xlsx"))
    assert names(own) == ["Amina Diallo"]  # an expert: their own profile only
    assert csv_rows(api_as(partner).get(f"{EXPERTS}export/?file=csv")) == [headers(EXPERT_COLUMNS)]


def test_it_refuses_bad_roster_api_filters(api_as, staff, roster):
    response = api_as(staff).get(f"{EXPERTS}export/?file=csv&language=xx")
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "language"


def test_it_keeps_the_experts_own_data_export(api_as, expert, roster):
    response = api_as(expert).get(f"{EXPERTS}{roster['amina'].pk}/export/")
    assert response.status_code == 200
    assert response.json()["profile"]["full_name"] == "Amina Diallo"


def _queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        body(client.get(url))
    return len(queries)


def test_it_downloads_the_roster_in_a_constant_number_of_queries(client, staff, roster):
    client.force_login(staff)
    _queries(client, "/experts/?export=csv")
    small = _queries(client, "/experts/?export=csv")
    for i in range(4):
        make_expert(name=f"Expert {i}", countries=("TN", "MA"), by=staff)
    assert _queries(client, "/experts/?export=csv") == small


# --- deployments -----------------------------------------------------------------------------


@pytest.fixture
def missions(partner: Any, partner2: Any, staff: Any, approver: Any, roster: Any) -> Any:
    """On ``partner``'s action: Amina confirmed, Jan shortlisted; on ``partner2``'s: Amina
    invited."""
    action = approved_action(partner, staff, approver, state="signed")
    need = first_need(action)
    other = first_need(approved_action(partner2, staff, approver, state="signed"))
    return {
        "action": action,
        "confirmed": deployment_in("confirmed", need, roster["amina"], staff=staff),
        "shortlisted": deployment_in("shortlisted", need, roster["jan"], staff=staff),
        "invited": deployment_in("invited", other, roster["amina"], staff=staff),
    }


def statuses(rows: list[list[Any]]) -> list[tuple[str, str]]:
    return sorted((r["Expert"], r["Status"]) for r in as_dicts(rows))


def test_it_downloads_every_deployment_for_staff(client, staff, missions):
    rows = csv_rows(get(client, staff, "/experts/deployments/?export=csv"))
    assert rows[0] == headers(DEPLOYMENT_STAFF_COLUMNS)
    assert statuses(rows) == [
        ("Amina Diallo", "Confirmed"),
        ("Amina Diallo", "Invited"),
        ("Jan Novak", "Shortlisted"),
    ]
    confirmed = next(r for r in as_dicts(rows) if r["Status"] == "Confirmed")
    deployment = missions["confirmed"]
    assert confirmed["Action reference"] == missions["action"].reference
    assert confirmed["Partner"] == "Directorate of Migration"
    assert confirmed["Activity"] == "Training of analysts"
    assert confirmed["Thematic area"] == "Data production, collection and analysis"
    assert confirmed["Administration type"] == "Partner-country administration"
    assert confirmed["Mission start"] == deployment.start_date.isoformat()
    assert confirmed["Expert-days"] == "1"
    assert confirmed["Mission report filed"] == "no"


def test_it_downloads_the_partners_missions_only(client, partner, partner2, missions):
    rows = xlsx_rows(get(client, partner, "/experts/deployments/?export=xlsx"))
    assert rows[0] == headers(DEPLOYMENT_COLUMNS)  # no score, no rating
    assert statuses(rows) == [("Amina Diallo", "Confirmed")]
    (row,) = as_dicts(rows)
    assert isinstance(row["Mission start"], datetime)
    assert csv_rows(get(client, partner2, "/experts/deployments/?export=csv"))[1:] == []


def test_it_downloads_the_experts_own_deployments(client, expert, missions):
    rows = csv_rows(get(client, expert, "/experts/deployments/?export=csv"))
    assert rows[0] == headers(DEPLOYMENT_EXPERT_COLUMNS)
    assert statuses(rows) == [("Amina Diallo", "Confirmed"), ("Amina Diallo", "Invited")]


def test_it_applies_the_deployment_filter(client, staff, missions):
    rows = csv_rows(get(client, staff, "/experts/deployments/?status=shortlisted&export=csv"))
    assert statuses(rows) == [("Jan Novak", "Shortlisted")]


def test_it_refuses_an_invalid_deployment_filter(client, staff, missions):
    response = get(client, staff, "/experts/deployments/?status=lost&export=csv")
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_status_error"' in page
    assert 'data-testid="deployments"' not in page


def test_it_downloads_nothing_for_evaluators(client, evaluator, missions):
    assert get(client, evaluator, "/experts/deployments/?export=csv").status_code == 403


def test_it_downloads_the_deployment_board(client, staff, missions):
    url = f"/experts/actions/{missions['action'].pk}/board/"
    rows = csv_rows(get(client, staff, f"{url}?export=csv"))
    assert rows[0] == headers(DEPLOYMENT_STAFF_COLUMNS)
    assert statuses(rows) == [("Amina Diallo", "Confirmed"), ("Jan Novak", "Shortlisted")]
    assert "attachment;" in get(client, staff, f"{url}?export=xlsx")["Content-Disposition"]
    assert 'href="?export=csv"' in get(client, staff, url).content.decode()
    assert get(client, staff, f"{url}?export=pdf").status_code == 400


def test_it_exports_deployments_through_the_api(api_as, staff, partner, expert, missions):
    action = missions["action"]
    rows = csv_rows(api_as(staff).get(f"{DEPLOYMENTS}export/?file=csv&action={action.pk}"))
    assert rows[0] == headers(DEPLOYMENT_STAFF_COLUMNS)
    assert statuses(rows) == [("Amina Diallo", "Confirmed"), ("Jan Novak", "Shortlisted")]
    rows = xlsx_rows(api_as(partner).get(f"{DEPLOYMENTS}export/?file=xlsx"))
    assert rows[0] == headers(DEPLOYMENT_COLUMNS)
    assert statuses(rows) == [("Amina Diallo", "Confirmed")]
    need = missions["invited"].need_id
    rows = csv_rows(api_as(expert).get(f"{DEPLOYMENTS}export/?file=csv&expertise_need={need}"))
    assert statuses(rows) == [("Amina Diallo", "Invited")]  # the expert's mission, by its need


def test_it_refuses_deployment_filters_on_what_the_user_may_not_see(
    api_as, partner, expert, missions
):
    partner_api, expert_api = api_as(partner), api_as(expert)
    other_action = missions["invited"].need.activity.action_id
    refused = [
        (partner_api, f"action={other_action}", "action"),
        (partner_api, f"expert={missions['shortlisted'].expert_id}", "expert"),
        (partner_api, f"expertise_need={missions['invited'].need_id}", "expertise_need"),
        (expert_api, f"expert={missions['shortlisted'].expert_id}", "expert"),
        (expert_api, "activity=999999", "activity"),
    ]
    for client, query, attr in refused:
        for base in (f"{DEPLOYMENTS}export/?file=csv&", f"{DEPLOYMENTS}?"):
            response = client.get(f"{base}{query}")
            assert response.status_code == 400, (query, response.content)
            (error,) = response.json()["errors"]
            assert error["attr"] == attr
            assert "among those you may see" in error["detail"]
    # What the partner does see may be named.
    allowed = partner_api.get(
        f"{DEPLOYMENTS}export/?file=csv&expert={missions['confirmed'].expert_id}"
    )
    assert statuses(csv_rows(allowed)) == [("Amina Diallo", "Confirmed")]


def test_it_exports_deployments_in_a_constant_number_of_queries(
    api_as, staff, partner, approver, missions
):
    client = api_as(staff)
    url = f"{DEPLOYMENTS}export/?file=csv"
    _queries(client, url)
    small = _queries(client, url)
    need = first_need(missions["action"])
    for i in range(3):
        deployment_in("invited", need, make_expert(name=f"More {i}", by=staff), staff=staff)
    assert _queries(client, url) == small
