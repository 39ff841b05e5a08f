"""Downloads of actions and activities: the action list page (``?export=csv|xlsx``, and
``rows=activities`` for the activities of the listed actions) and
``GET /api/v1/actions/export/`` / ``GET /api/v1/activities/export/`` — read back with csv
and openpyxl: headers, values, filters, scope per role, refusals, queries."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from actions.exports import ACTION_COLUMNS, ACTIVITY_COLUMNS
from tests.actions.api_helpers import ACTIONS, ACTIVITIES, add_activities, make_action, partner_in
from tests.core.test_exports import as_dicts, body, csv_rows, headers, xlsx_rows


@pytest.fixture
def portfolio(partner: Any, partner2: Any, staff: Any, approver: Any, evaluator: Any) -> Any:
    today = timezone.localdate()
    peru = partner_in("PE", "partner-pe")
    return {
        # In design: not yet the partner's to see.
        "design": make_action(partner, staff, "design", title="Labour register", gcm=(23,)),
        "running": make_action(
            partner,
            staff,
            "in_implementation",
            approver=approver,
            evaluators=(evaluator,),
            title="Border data exchange",
            gcm=(11, 1),
            areas=("border-management",),
            period=(today - timedelta(days=10), today + timedelta(days=100)),
        ),
        "peru": make_action(
            peru, staff, "approved", approver=approver, title="Census of emigrants", gcm=(1,)
        ),
        "other": make_action(
            partner2, staff, "approved", approver=approver, title="Other partner's action"
        ),
    }


def get(client: Any, user: Any, url: str) -> Any:
    client.force_login(user)
    return client.get(url)


def titles(rows: list[list[Any]], column: str = "Title") -> list[str]:
    return sorted(row[column] for row in as_dicts(rows))


# --- the action list page -------------------------------------------------------------------


def test_it_downloads_every_action_for_staff(client, staff, portfolio):
    rows = csv_rows(get(client, staff, "/actions/?export=csv"))
    assert rows[0] == headers(ACTION_COLUMNS)
    assert titles(rows) == [
        "Border data exchange",
        "Census of emigrants",
        "Labour register",
        "Other partner's action",
    ]
    running = next(r for r in as_dicts(rows) if r["Title"] == "Border data exchange")
    action = portfolio["running"]
    assert running["Reference"] == action.reference
    assert running["Partner"] == "Directorate of Migration"
    assert running["Status"] == "In implementation"
    assert running["Start"] == action.start_date.isoformat()
    assert running["Thematic areas"] == "Orderly migration and border management"
    assert running["GCM objectives"] == "1; 11"
    assert running["Request"] == action.request.reference
    assert running["Partner agrees to publish"] == "no"
    assert running["Open amendments"] == "0"
    assert running["Final evaluation submitted"] == "no"


def test_it_downloads_typed_xlsx_with_the_filters(client, staff, portfolio):
    rows = xlsx_rows(get(client, staff, "/actions/?status=in_implementation&export=xlsx"))
    assert rows[0] == headers(ACTION_COLUMNS)
    (row,) = as_dicts(rows)
    assert row["Title"] == "Border data exchange"
    assert isinstance(row["Start"], datetime)
    assert row["Start"].date() == portfolio["running"].start_date
    assert isinstance(row["Approved"], datetime)
    assert row["Open amendments"] == 0


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("country=PE", ["Census of emigrants"]),
        ("gcm_objective=1", ["Border data exchange", "Census of emigrants"]),
        ("thematic_area=border-management", ["Border data exchange"]),
        ("status=design", ["Labour register"]),
    ],
)
def test_it_downloads_what_the_filters_list(client, staff, portfolio, query, expected):
    assert titles(csv_rows(get(client, staff, f"/actions/?{query}&export=csv"))) == expected


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("partner", ["Border data exchange"]),  # the one in design stays internal
        ("partner2", ["Other partner's action"]),
        ("evaluator", ["Border data exchange"]),  # assigned to this one only
    ],
)
def test_it_downloads_only_what_the_user_may_see(client, request, portfolio, persona, expected):
    user = request.getfixturevalue(persona)
    assert titles(csv_rows(get(client, user, "/actions/?export=csv"))) == expected


def test_it_downloads_nothing_for_experts(client, expert, portfolio):
    assert get(client, expert, "/actions/?export=csv").status_code == 403


def test_it_refuses_invalid_filters(client, staff, portfolio):
    response = get(client, staff, "/actions/?country=XX&active_on=someday&export=csv")
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_country_error"' in page
    assert 'id="id_active_on_error"' in page
    assert 'data-testid="action-table"' not in page
    assert 'data-testid="downloads"' not in page


def test_it_refuses_a_pdf_download_clearly(client, staff, portfolio):
    response = get(client, staff, "/actions/?export=pdf")
    assert response.status_code == 400
    assert "Choose CSV or XLSX for the download" in response.content.decode()


def test_it_links_the_downloads_with_the_current_filters(client, staff, portfolio):
    page = get(client, staff, "/actions/?status=approved&page=1").content.decode()
    assert 'href="?status=approved&amp;export=csv"' in page
    assert 'href="?status=approved&amp;export=xlsx&amp;rows=activities"' in page


def test_it_defuses_formulas(client, staff):
    from tests.factories import UserFactory

    owner = UserFactory(partner=True)
    make_action(owner, staff, "design", title="@SUM(1+1)*cmd|' /C calc'!A0")
    (row,) = as_dicts(csv_rows(get(client, staff, "/actions/?export=csv")))
    assert row["Title"] == "'@SUM(1+1)*cmd|' /C calc'!A0"


# --- activities of the listed actions --------------------------------------------------------


def test_it_downloads_the_activities_of_the_listed_actions(client, staff, portfolio):
    rows = csv_rows(get(client, staff, "/actions/?country=PE&export=csv&rows=activities"))
    assert rows[0] == headers(ACTIVITY_COLUMNS)
    (row,) = as_dicts(rows)
    assert row["Action reference"] == portfolio["peru"].reference
    assert row["Activity"] == "Training of analysts"
    assert row["Type"] == "Training"
    assert row["Modality"] == "On-site"
    assert row["Country"] == "Tunisia"
    assert row["Expected participants"] == "15"
    assert (row["Participants: women"], row["Participants: men"]) == ("8", "7")
    assert row["Participants counted"] == "15"


def test_it_downloads_the_partners_activities_only(client, partner, portfolio):
    rows = xlsx_rows(get(client, partner, "/actions/?export=xlsx&rows=activities"))
    assert [r["Action title"] for r in as_dicts(rows)] == ["Border data exchange"]
    assert as_dicts(rows)[0]["Participants: women"] == 8


# --- queries ---------------------------------------------------------------------------------


def _queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        body(client.get(url))
    return len(queries)


@pytest.mark.parametrize("rows", ["", "&rows=activities"])
def test_it_downloads_in_a_constant_number_of_queries(client, staff, rows):
    from tests.factories import UserFactory

    client.force_login(staff)
    url = f"/actions/?export=csv{rows}"
    first = make_action(UserFactory(partner=True), staff, "design")
    _queries(client, url)
    small = _queries(client, url)
    add_activities(first, staff, 3)
    for _ in range(3):
        make_action(UserFactory(partner=True), staff, "design", gcm=(1, 2))
    assert _queries(client, url) == small


# --- the API ---------------------------------------------------------------------------------


def test_it_exports_actions_through_the_api(api_as, partner, staff, portfolio):
    rows = csv_rows(api_as(partner).get(f"{ACTIONS}export/?file=csv"))
    assert rows[0] == headers(ACTION_COLUMNS)
    assert titles(rows) == ["Border data exchange"]
    rows = xlsx_rows(api_as(staff).get(f"{ACTIONS}export/?file=xlsx&status=approved&country=pe"))
    assert titles(rows) == ["Census of emigrants"]


def test_it_refuses_an_organisation_filter_outside_the_partners_scope(
    api_as, partner, partner2, portfolio
):
    response = api_as(partner).get(
        f"{ACTIONS}export/?file=csv&organisation={partner2.organisation_id}"
    )
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["attr"] == "organisation"
    assert "among those whose actions you may see" in error["detail"]


def test_it_exports_activities_through_the_api(api_as, partner, evaluator, staff, portfolio):
    rows = csv_rows(api_as(partner).get(f"{ACTIVITIES}export/?file=csv"))
    assert rows[0] == headers(ACTIVITY_COLUMNS)
    assert titles(rows, "Action title") == ["Border data exchange"]
    running = portfolio["running"]
    rows = xlsx_rows(api_as(staff).get(f"{ACTIVITIES}export/?file=xlsx&action={running.pk}"))
    assert titles(rows, "Action title") == ["Border data exchange"]
    assert titles(
        csv_rows(api_as(evaluator).get(f"{ACTIVITIES}export/?file=csv")), "Action title"
    ) == ["Border data exchange"]


@pytest.mark.parametrize("persona", ["partner", "evaluator"])
def test_it_refuses_an_activity_filter_on_an_action_the_user_may_not_see(
    api_as, request, portfolio, persona
):
    client = api_as(request.getfixturevalue(persona))
    for url in (
        f"{ACTIVITIES}export/?file=csv&action={portfolio['other'].pk}",
        f"{ACTIVITIES}?action={portfolio['design'].pk}",
    ):
        response = client.get(url)
        assert response.status_code == 400
        (error,) = response.json()["errors"]
        assert error["attr"] == "action"
        assert "among those you may see" in error["detail"]


def test_it_exports_empty_lists_to_experts(api_as, expert, portfolio):
    assert csv_rows(api_as(expert).get(f"{ACTIONS}export/?file=csv")) == [headers(ACTION_COLUMNS)]
    assert csv_rows(api_as(expert).get(f"{ACTIVITIES}export/?file=csv")) == [
        headers(ACTIVITY_COLUMNS)
    ]


def test_it_refuses_an_api_export_in_pdf(api_as, staff):
    response = api_as(staff).get(f"{ACTIVITIES}export/?file=pdf")
    assert response.status_code == 400
    assert "Choose CSV or XLSX" in response.json()["errors"][0]["detail"]
