"""The monitoring and evaluation downloads (evaluations/exports.py): indicators with one row
per measurement (and one for an indicator never measured), final evaluations with their six
ratings and recommendations — through the column specs on the selectors' querysets and
through ``GET /api/v1/indicators/export/`` and ``GET /api/v1/evaluations/export/``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cbportal.core.exports import export_response
from evaluations import selectors
from evaluations.exports import EVALUATION_COLUMNS, INDICATOR_COLUMNS, indicator_rows
from tests.core.test_exports import (
    as_dicts,
    body,
    csv_rows,
    export_request,
    headers,
    xlsx_rows,
)
from tests.evaluations.builders import (
    complete_evaluation,
    days_ago,
    make_indicator,
    measure,
    running_action,
    submitted_evaluation,
)

INDICATORS = "/api/v1/indicators/"
EVALUATIONS = "/api/v1/evaluations/"


@pytest.fixture
def measured(action: Any, staff: Any, evaluator: Any) -> dict[str, Any]:
    """``action`` with an indicator measured twice and one never measured."""
    sops = make_indicator(action, staff)
    measure(
        sops,
        evaluator,
        "30",
        days_ago=40,
        note="First round",
        evidence_url="https://example.org/r1",
    )
    measure(sops, evaluator, "45", days_ago=2, note="=cmd|' /C calc'!A0")
    decree = make_indicator(
        action,
        staff,
        name="Decree adopted",
        unit="yes_no",
        baseline="0",
        target="1",
        level="enabling_environment",
        frequency="end_only",
    )
    return {"sops": sops, "decree": decree}


def download(rows: Any, columns: Any, fmt: str) -> list[list[Any]]:
    response = export_response(rows, columns, fmt=fmt, filename="test", request=export_request(fmt))
    return csv_rows(response) if fmt == "csv" else xlsx_rows(response)


# --- indicators -------------------------------------------------------------------------------


def test_it_writes_one_row_per_measurement_and_one_for_an_unmeasured_indicator(
    staff, evaluator, action, measured
):
    rows = download(indicator_rows(selectors.indicator_list(staff)), INDICATOR_COLUMNS, "csv")
    assert rows[0] == headers(INDICATOR_COLUMNS)
    data = as_dicts(rows)
    assert [(r["Indicator"], r["Value"]) for r in data] == [
        ("Share of border posts applying the SOPs", "45.00"),  # newest first
        ("Share of border posts applying the SOPs", "30.00"),
        ("Decree adopted", ""),
    ]
    newest, oldest, decree = data
    assert newest["Action reference"] == action.reference
    assert newest["Action title"] == action.title
    assert newest["CB level"] == "Organisational"
    assert newest["Unit"] == "Percentage"
    assert newest["Direction"] == "Increase"
    assert (newest["Baseline"], newest["Target"]) == ("20.00", "60.00")
    assert newest["Measurement frequency"] == "Quarterly"
    assert newest["Progress"] in ("On track", "At risk", "Off track")
    assert newest["Latest value"] == "45.00"
    assert newest["Last measured"] == days_ago(2).isoformat()
    assert newest["Measurement date"] == days_ago(2).isoformat()
    assert newest["Note"] == "'=cmd|' /C calc'!A0"  # defused
    assert newest["Recorded by"] == evaluator.display_name
    assert oldest["Evidence"] == "https://example.org/r1"
    assert decree["Progress"] == "Not measured yet"
    assert decree["Measurement frequency"] == "At the end of the action"
    assert (decree["Measurement date"], decree["Recorded by"], decree["Evidence"]) == ("", "", "")


def test_it_writes_typed_indicator_cells_in_xlsx(staff, action, measured):
    rows = download(indicator_rows(selectors.indicator_list(staff)), INDICATOR_COLUMNS, "xlsx")
    newest = as_dicts(rows)[0]
    assert newest["Value"] == 45
    assert newest["Baseline"] == 20
    assert isinstance(newest["Measurement date"], datetime)
    assert newest["Measurement date"].date() == days_ago(2)


def test_it_reads_indicator_rows_in_a_constant_number_of_queries(
    staff, evaluator, action, measured
):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            list(indicator_rows(selectors.indicator_list(staff)))
        return len(queries)

    small = count()
    for i in range(4):
        more = make_indicator(action, staff, name=f"Indicator {i}")
        measure(more, evaluator, "25", days_ago=20)
        measure(more, evaluator, "35", days_ago=1)
    assert count() == small
    assert len(list(indicator_rows(selectors.indicator_list(staff)))) == 3 + 8


def test_it_exports_indicators_through_the_api(
    api_as, partner, partner2, evaluator2, action, measured
):
    rows = csv_rows(api_as(partner).get(f"{INDICATORS}export/?file=csv"))
    assert rows[0] == headers(INDICATOR_COLUMNS)
    assert len(rows) == 4
    assert csv_rows(api_as(partner2).get(f"{INDICATORS}export/?file=csv")) == [
        headers(INDICATOR_COLUMNS)
    ]
    assert csv_rows(api_as(evaluator2).get(f"{INDICATORS}export/?file=csv")) == [
        headers(INDICATOR_COLUMNS)
    ]
    rows = xlsx_rows(api_as(partner).get(f"{INDICATORS}export/?file=xlsx"))
    assert {r["Indicator"] for r in as_dicts(rows)} == {
        "Share of border posts applying the SOPs",
        "Decree adopted",
    }


def test_it_exports_indicators_in_a_constant_number_of_queries(
    api_as, staff, evaluator, action, measured
):
    client = api_as(staff)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            body(client.get(f"{INDICATORS}export/?file=csv"))
        return len(queries)

    count()
    small = count()
    for i in range(3):
        more = make_indicator(action, staff, name=f"More {i}")
        measure(more, evaluator, "25", days_ago=20)
    assert count() == small


# --- final evaluations -------------------------------------------------------------------------


def test_it_writes_an_evaluation_with_its_ratings_and_recommendations(
    partner, staff, approver, evaluator, action
):
    evaluation = submitted_evaluation(
        action, evaluator, staff=staff, approver=approver, partner=partner
    )
    rows = download(selectors.evaluations_for(staff), EVALUATION_COLUMNS, "csv")
    assert rows[0] == headers(EVALUATION_COLUMNS)
    (row,) = as_dicts(rows)
    assert row["Action reference"] == action.reference
    assert row["Country"] == "Tunisia"
    assert row["Status"] == "Submitted"
    assert [row[c] for c in ("Relevance", "Coherence", "Effectiveness", "Efficiency")] == ["3"] * 4
    assert (row["Impact"], row["Sustainability"]) == ("2", "4")
    assert row["Findings"] == "The border agency adopted the SOPs."
    assert row["Lessons learned"] == "Peer experts from the region were trusted fastest."
    assert row["Recommendations"] == "Train regional trainers.; Extend the SOPs to airports."
    assert row["Submitted by"] == evaluator.display_name
    cells = as_dicts(download(selectors.evaluations_for(staff), EVALUATION_COLUMNS, "xlsx"))[0]
    assert cells["Impact"] == 2
    assert isinstance(cells["Submitted"], datetime)
    assert evaluation.submitted_at is not None


def test_it_never_exports_a_draft_evaluation_to_the_partner(
    api_as, partner, staff, approver, evaluator, action
):
    complete_evaluation(action, evaluator, findings="Draft finding, not for the partner.")
    other = running_action(partner, staff, approver, evaluator=evaluator)
    submitted_evaluation(other, evaluator, staff=staff, approver=approver, partner=partner)
    for fmt, parse in (("csv", csv_rows), ("xlsx", xlsx_rows)):
        rows = as_dicts(parse(api_as(partner).get(f"{EVALUATIONS}export/?file={fmt}")))
        assert [r["Action reference"] for r in rows] == [other.reference]
        assert all(r["Status"] == "Submitted" for r in rows)
    staff_rows = as_dicts(csv_rows(api_as(staff).get(f"{EVALUATIONS}export/?file=csv")))
    assert sorted(r["Status"] for r in staff_rows) == ["Draft", "Submitted"]
    assert "Draft finding, not for the partner." in {r["Findings"] for r in staff_rows}


def test_it_exports_only_the_evaluators_assigned_actions(
    api_as, evaluator, evaluator2, partner2, action, staff, approver
):
    complete_evaluation(action, evaluator)
    assert len(csv_rows(api_as(evaluator).get(f"{EVALUATIONS}export/?file=csv"))) == 2
    for user in (evaluator2, partner2):
        assert csv_rows(api_as(user).get(f"{EVALUATIONS}export/?file=csv")) == [
            headers(EVALUATION_COLUMNS)
        ]


def test_it_refuses_an_evaluation_export_in_pdf(api_as, staff):
    response = api_as(staff).get(f"{EVALUATIONS}export/?file=pdf")
    assert response.status_code == 400
    assert "Choose CSV or XLSX" in response.json()["errors"][0]["detail"]


@pytest.mark.parametrize("collection", [INDICATORS, EVALUATIONS])
def test_it_refuses_a_filter_on_an_action_the_user_may_not_see(
    api_as, partner2, action, measured, collection
):
    response = api_as(partner2).get(f"{collection}export/?file=csv&action={action.pk}")
    assert response.status_code == 400
