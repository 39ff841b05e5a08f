"""The portfolio dashboard (issue 6 "Portfolio dashboard", DESIGN.md §9): every figure of
``evaluations.dashboard.portfolio_report`` against values worked out by hand on a fixed data
set, each filter changing them as expected, the page (staff only) with its KPI tiles, the
charts' data and the tables under them, the API (the very same dict), bad filters, and a
number of queries that does not grow with the data.

The data set (``build_portfolio``) is dated in the first half of 2025; the period under test
is 2025-01-01 – 2025-06-30 unless a test says otherwise. Every date is set with a queryset
update after the objects went through the real services.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from actions import services as action_services
from actions.models import Action
from cbportal.accounts.models import Country
from cbportal.core.models import GcmObjective, ThematicArea
from evaluations import services
from evaluations.dashboard import (
    MAX_MONTHS,
    PortfolioFilterForm,
    PortfolioFilters,
    default_period,
    portfolio_report,
)
from evaluations.models import Feedback, FinalEvaluation, Indicator
from experts.models import Deployment
from requests_app.models import AssistanceRequest
from tests.actions.api_helpers import errors
from tests.actions.builders import advance, make_action
from tests.evaluations.builders import complete_evaluation, make_indicator
from tests.experts.builders import deployment_in, first_need, make_expert
from tests.factories import UserFactory
from tests.requests_app.helpers import make_request

# Marked here (not only by tests/conftest.py) so that pytest-django keeps this module's
# tests together: the data set below is built once per contiguous run of them.
pytestmark = pytest.mark.django_db

URL = "/dashboard/"
API = "/api/v1/reports/portfolio/"
PERIOD = {"from": "2025-01-01", "to": "2025-06-30"}
FIRST_HALF_2025 = PortfolioFilters(date_from=date(2025, 1, 1), date_to=date(2025, 6, 30))
# portfolio_report's queries: requests 7 (totals, two monthly series, four percentile
# look-ups), actions 4, deployments 2, indicators 1, evaluations 1, feedback 1.
REPORT_QUERIES = 16


def at(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime(year, month, day, hour, minute))


def report_for(**narrowing: Any) -> dict[str, Any]:
    return portfolio_report(
        PortfolioFilters(date_from=date(2025, 1, 1), date_to=date(2025, 6, 30), **narrowing)
    )


def counts(buckets: list[dict[str, Any]]) -> dict[Any, int]:
    return {b["key"]: b["count"] for b in buckets}


# --- the data set -----------------------------------------------------------------------------


def dated_request(
    state: str,
    partner: Any,
    staff: Any,
    *,
    country: str,
    area: str,
    gcm: int,
    submitted: datetime | None = None,
    responded: timedelta | None = None,
    decided: timedelta | None = None,
) -> AssistanceRequest:
    """A request walked to ``state`` by the services, then dated: first response and
    decision ``responded``/``decided`` after ``submitted``; the first response is due two
    days after submission and the decision fourteen days after."""
    request = make_request(
        state,
        partner,
        staff,
        country=Country.objects.get(code=country),
        thematic_areas=[ThematicArea.objects.get(slug=area)],
        gcm_objectives=[GcmObjective.objects.get(number=gcm)],
    )
    AssistanceRequest.objects.filter(pk=request.pk).update(
        submitted_at=submitted,
        first_response_at=submitted + responded if submitted and responded else None,
        decided_at=submitted + decided if submitted and decided else None,
        first_response_due_at=submitted + timedelta(days=2) if submitted else None,
        decision_due_at=submitted + timedelta(days=14) if submitted else None,
    )
    return AssistanceRequest.objects.get(pk=request.pk)


def dated_action(
    people: dict[str, Any],
    state: str,
    *,
    country: str,
    areas: tuple[str, ...],
    gcm: tuple[int, ...],
    start: date,
    end: date,
    evaluated: bool = False,
) -> Action:
    """An action of the partner brought to ``state``, the evaluator assigned if
    ``evaluated``, then moved to ``country`` and the period ``start``–``end``."""
    staff, approver, partner = people["staff"], people["approver"], people["partner"]
    action = advance(
        make_action(partner, staff, areas=areas, gcm=gcm),
        state,
        staff=staff,
        approver=approver,
        partner=partner,
    )
    if evaluated:
        action_services.action_update(
            action_id=action.pk, by=staff, data={"evaluators": [people["evaluator"]]}
        )
    Action.objects.filter(pk=action.pk).update(country_id=country, start_date=start, end_date=end)
    return Action.objects.get(pk=action.pk)


def deployed(
    state: str,
    action: Action,
    expert: Any,
    staff: Any,
    *,
    start: date,
    days: int,
) -> Deployment:
    """A deployment on the action's need brought to ``state``, then dated: ``days``
    expert-days from ``start``."""
    deployment = deployment_in(
        state,
        first_need(action),
        expert,
        staff=staff,
        start=start,
        end=start + timedelta(days=days - 1),
    )
    if state in ("confirmed", "completed"):
        Deployment.objects.filter(pk=deployment.pk).update(
            start_date=start, end_date=start + timedelta(days=days - 1), expert_days=days
        )
    return deployment


def feedback(
    action: Action,
    people: dict[str, Any],
    *,
    participants: tuple[tuple[int, datetime], ...] = (),
    partner: tuple[int, datetime] | None = None,
) -> None:
    """Participants answer through links, the partner signed in; then dated."""
    activity = action.activities.get()
    if participants:
        links = services.feedback_links_create(
            activity_id=activity.pk, by=people["staff"], count=len(participants)
        )
        for link, (rating, when) in zip(links, participants, strict=True):
            answer = services.feedback_submit_by_link(
                token=link.token, data={"satisfaction": rating}
            )
            Feedback.objects.filter(pk=answer.pk).update(submitted_at=when)
    if partner is not None:
        answer = services.feedback_submit(
            activity_id=activity.pk, by=people["partner"], data={"satisfaction": partner[0]}
        )
        Feedback.objects.filter(pk=answer.pk).update(submitted_at=partner[1])


def indicators(action: Action, staff: Any, *statuses: str) -> None:
    for i, status in enumerate(statuses):
        indicator = make_indicator(action, staff, name=f"Indicator {i}")
        Indicator.objects.filter(pk=indicator.pk).update(progress_status=status)


RATINGS = ("relevance", "coherence", "effectiveness", "efficiency", "impact", "sustainability")


def evaluated(action: Action, people: dict[str, Any], submitted: datetime, *ratings: int) -> None:
    """Complete the action; the evaluator submits ``ratings`` (in the DAC order)."""
    action_services.action_transition(
        action_id=action.pk, name="complete", by=people["staff"], text=""
    )
    evaluation = complete_evaluation(
        action, people["evaluator"], **dict(zip(RATINGS, ratings, strict=True))
    )
    services.evaluation_submit(evaluation_id=evaluation.pk, by=people["evaluator"])
    FinalEvaluation.objects.filter(pk=evaluation.pk).update(submitted_at=submitted)


def build_portfolio(people: dict[str, Any]) -> dict[str, Any]:
    """The fixed data set; comments give what each object contributes in the first half of
    2025 (Africa: TN, SN; Americas: PE; Asia: JO)."""
    staff, partner = people["staff"], people["partner"]
    day = timedelta(days=1)
    # Requests: R1…R10. Due: first response +2 days, decision +14 days.
    req = {
        # Jan: responded after 1 day (on time), accepted after 4 (on time).
        "R1": dated_request(
            "accepted", partner, staff, country="TN", area="data", gcm=1,
            submitted=at(2025, 1, 10), responded=day, decided=4 * day,
        ),
        # Jan: responded after exactly 2 days (on time), declined after 10 (on time).
        "R2": dated_request(
            "declined", partner, staff, country="TN", area="labour-migration", gcm=23,
            submitted=at(2025, 1, 20), responded=2 * day, decided=10 * day,
        ),
        # Feb: responded after 3 days (late), accepted after 15 (late) on 20 Feb.
        "R3": dated_request(
            "accepted", partner, staff, country="SN", area="border-management", gcm=11,
            submitted=at(2025, 2, 5), responded=3 * day, decided=15 * day,
        ),
        # Mar: responded after half a day, accepted after 6 days (both on time).
        "R4": dated_request(
            "accepted", partner, staff, country="PE", area="data", gcm=1,
            submitted=at(2025, 3, 3), responded=day / 2, decided=6 * day,
        ),
        # Mar: under review, responded after 6 days (late); no decision: overdue now.
        "R5": dated_request(
            "under_review", partner, staff, country="JO", area="labour-migration", gcm=23,
            submitted=at(2025, 3, 15), responded=6 * day,
        ),
        # Apr: never answered: overdue now.
        "R6": dated_request(
            "submitted", partner, staff, country="TN", area="data", gcm=1,
            submitted=at(2025, 4, 1),
        ),
        # May: responded after 1 day (on time), declined after 20 (late).
        "R7": dated_request(
            "declined", partner, staff, country="PE", area="governance", gcm=2,
            submitted=at(2025, 5, 2), responded=day, decided=20 * day,
        ),
        # A draft: never counted.
        "R8": dated_request("draft", partner, staff, country="SN", area="data", gcm=1),
        # Submitted in November 2024, answered then; accepted on 8 Jan 2025 after 64 days
        # (late): a decision of the period, not a request received in it.
        "R9": dated_request(
            "accepted", partner, staff, country="TN", area="data", gcm=1,
            submitted=at(2024, 11, 5), responded=day, decided=64 * day,
        ),
        # Feb: withdrawn before any answer: received, nothing else.
        "R10": dated_request(
            "withdrawn", partner, staff, country="SN", area="data", gcm=1,
            submitted=at(2025, 2, 10),
        ),
    }  # fmt: skip
    # Actions. In the period: A1, A2, A3, A4, A7; A5 (2023) and A6 (2024) are not.
    act = {
        "A1": dated_action(
            people, "in_implementation", country="TN", areas=("data", "labour-migration"),
            gcm=(1, 23), start=date(2025, 1, 1), end=date(2025, 12, 31), evaluated=True,
        ),
        "A2": dated_action(
            people, "in_implementation", country="SN", areas=("border-management",),
            gcm=(11,), start=date(2024, 6, 1), end=date(2025, 3, 31), evaluated=True,
        ),
        "A3": dated_action(
            people, "approved", country="PE", areas=("data",), gcm=(1,),
            start=date(2025, 3, 1), end=date(2025, 9, 30),
        ),
        "A4": dated_action(
            people, "design", country="JO", areas=("labour-migration",), gcm=(23,),
            start=date(2025, 5, 1), end=date(2026, 4, 30),
        ),
        "A5": dated_action(
            people, "cancelled", country="TN", areas=("data",), gcm=(2,),
            start=date(2023, 1, 1), end=date(2023, 12, 31),
        ),
        "A6": dated_action(
            people, "in_implementation", country="PE", areas=("governance",), gcm=(2,),
            start=date(2024, 1, 1), end=date(2024, 12, 31), evaluated=True,
        ),
        "A7": dated_action(
            people, "in_implementation", country="JO", areas=("protection",), gcm=(7,),
            start=date(2025, 2, 1), end=date(2025, 4, 30), evaluated=True,
        ),
    }  # fmt: skip
    # The requests the actions came from were decided long ago.
    AssistanceRequest.objects.filter(actions__isnull=False).update(
        submitted_at=at(2019, 1, 7),
        first_response_at=at(2019, 1, 8),
        decided_at=at(2019, 1, 9),
        first_response_due_at=at(2019, 1, 9),
        decision_due_at=at(2019, 1, 21),
    )
    # Experts: E1, E2 partner-country administrations (South–South), E3 an EU member
    # state's, E4 an international organisation, E5 academia (only invited).
    exp = {
        "E1": make_expert(name="Awa Ndiaye", administration_type="partner_country", by=staff),
        "E2": make_expert(name="Omar Haddad", administration_type="partner_country", by=staff),
        "E3": make_expert(name="Eva Novak", administration_type="eu_member_state", by=staff),
        "E4": make_expert(
            name="Ines Ortiz", administration_type="international_organisation", by=staff
        ),
        "E5": make_expert(name="Li Wei", administration_type="academia_civil_society", by=staff),
    }
    # Deployments in the period: Jan 2 (9 expert-days), Feb 1 (6), Mar 2 (5).
    deployed("completed", act["A1"], exp["E1"], staff, start=date(2025, 1, 15), days=5)
    deployed("confirmed", act["A3"], exp["E1"], staff, start=date(2025, 3, 10), days=3)
    deployed("completed", act["A2"], exp["E2"], staff, start=date(2025, 1, 20), days=4)
    deployed("confirmed", act["A1"], exp["E3"], staff, start=date(2025, 2, 3), days=6)
    deployed("completed", act["A7"], exp["E4"], staff, start=date(2025, 3, 1), days=2)
    # Not counted: starting in August, only invited, cancelled.
    deployed("confirmed", act["A3"], exp["E3"], staff, start=date(2025, 8, 1), days=10)
    deployed("invited", act["A2"], exp["E5"], staff, start=date(2025, 2, 1), days=1)
    deployed("cancelled", act["A7"], exp["E2"], staff, start=date(2025, 4, 1), days=1)
    # Feedback in the period: participants 5, 4, 3, 2; partner 4, 2.
    feedback(
        act["A1"],
        people,
        participants=((5, at(2025, 2, 10)), (4, at(2025, 2, 10)), (3, at(2025, 2, 11))),
        partner=(4, at(2025, 2, 12)),
    )
    feedback(act["A2"], people, participants=((2, at(2025, 3, 1)), (5, at(2024, 12, 20))))
    feedback(act["A7"], people, partner=(2, at(2025, 4, 1)))
    # Indicators of the actions in the period: on track 2, target reached 1, at risk 1,
    # off track 1, not measured 1; A6's (not in the period) off track.
    indicators(act["A1"], staff, "on_track", "achieved", "not_measured")
    indicators(act["A2"], staff, "off_track", "at_risk")
    indicators(act["A3"], staff, "on_track")
    indicators(act["A6"], staff, "off_track")
    # Final evaluations submitted in the period (A6's action ended in 2024; its evaluation
    # counts by its submission date); A1's is a draft.
    complete_evaluation(act["A1"], people["evaluator"], **dict.fromkeys(RATINGS, 1))
    evaluated(act["A2"], people, at(2025, 4, 20), 4, 3, 3, 2, 3, 4)
    evaluated(act["A6"], people, at(2025, 2, 15), 3, 3, 2, 2, 4, 3)
    evaluated(act["A7"], people, at(2025, 5, 10), 3, 4, 4, 3, 2, 3)
    return {"requests": req, "actions": act, "experts": exp}


def dashboard_people() -> dict[str, Any]:
    """The data set's own people (the personas of tests/conftest.py are per test)."""
    return {
        "staff": UserFactory(username="dashboard-staff"),
        "approver": UserFactory(username="dashboard-approver", approver=True),
        "partner": UserFactory(username="dashboard-partner", partner=True),
        "evaluator": UserFactory(username="dashboard-evaluator", evaluator=True),
    }


@pytest.fixture(scope="module")
def portfolio(django_db_setup: Any, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    """The data set, built once for this module inside a transaction rolled back at the
    module's end (each test still rolls its own changes back to a savepoint)."""
    with django_db_blocker.unblock(), transaction.atomic():
        people = dashboard_people()
        data = build_portfolio(people)
        yield {**data, "people": people}
        transaction.set_rollback(True)


# --- every figure, whole portfolio, first half of 2025 ----------------------------------------


def test_it_counts_requests_per_month_and_decisions(portfolio):
    requests = report_for()["requests"]

    assert requests["received"] == 8
    assert (requests["decided"], requests["accepted"], requests["declined"]) == (6, 4, 2)
    assert requests["acceptance_rate_percent"] == 66.7
    assert requests["overdue_now"] == 2
    assert [
        (m["month"], m["submitted"], m["decided"], m["accepted"], m["declined"])
        for m in requests["per_month"]
    ] == [
        ("2025-01", 2, 3, 2, 1),
        ("2025-02", 2, 1, 1, 0),
        ("2025-03", 2, 1, 1, 0),
        ("2025-04", 1, 0, 0, 0),
        ("2025-05", 1, 1, 0, 1),
        ("2025-06", 0, 0, 0, 0),
    ]
    assert [m["label"] for m in requests["per_month"][:2]] == ["January 2025", "February 2025"]


def test_it_measures_time_to_first_response_and_to_decision(portfolio):
    requests = report_for()["requests"]

    # First responses in the period after 0.5, 1, 1, 2, 3 and 6 days (R4, R1, R7, R2, R3,
    # R5): median between the 3rd and 4th (1.5), 90th percentile at position 4.5 of 0–5
    # (3 + 0.5 × (6 − 3)); on time (≤ 2 days) R1, R2, R4, R7.
    assert requests["first_response"] == {
        "count": 6,
        "median_days": 1.5,
        "p90_days": 4.5,
        "target_working_days": 2,
        "on_time": 4,
        "on_time_percent": 66.7,
    }
    # Decisions in the period after 4, 6, 10, 15, 20 and 64 days (R1, R4, R2, R3, R7, R9):
    # median 10 + 0.5 × 5, 90th percentile 20 + 0.5 × 44; on time (≤ 14 days) R1, R2, R4.
    assert requests["decision"] == {
        "count": 6,
        "median_days": 12.5,
        "p90_days": 42.0,
        "target_working_days": 10,
        "on_time": 3,
        "on_time_percent": 50.0,
    }


def test_it_counts_actions_by_status_area_objective_and_region(portfolio):
    actions = report_for()["actions"]

    assert (actions["total"], actions["running"]) == (5, 1)
    assert counts(actions["by_status"]) == {
        "design": 1,
        "proposed": 0,
        "approved": 1,
        "in_implementation": 1,
        "completed": 2,
        "closed": 0,
        "suspended": 0,
        "cancelled": 0,
    }
    assert [(b["key"], b["count"]) for b in actions["by_thematic_area"]] == [
        ("data", 2),
        ("governance", 0),
        ("protection", 1),
        ("border-management", 1),
        ("integration", 0),
        ("labour-migration", 2),
        ("trafficking-smuggling", 0),
        ("diaspora-development", 0),
    ]
    objectives = actions["by_gcm_objective"]
    assert [o["key"] for o in objectives] == list(range(1, 24))
    assert {o["key"]: o["count"] for o in objectives if o["count"]} == {1: 2, 7: 1, 11: 1, 23: 2}
    assert objectives[0]["label"].startswith("1. Collect and utilize accurate")
    assert counts(actions["by_region"]) == {
        "Africa": 2,
        "Americas": 1,
        "Asia": 2,
        "Europe": 0,
        "Oceania": 0,
    }


def test_it_counts_deployments_expert_days_and_origins(portfolio):
    deployments = report_for()["deployments"]

    assert (deployments["total"], deployments["expert_days"], deployments["experts"]) == (5, 20, 4)
    assert [(m["month"], m["deployments"], m["expert_days"]) for m in deployments["per_month"]] == [
        ("2025-01", 2, 9),
        ("2025-02", 1, 6),
        ("2025-03", 2, 5),
        ("2025-04", 0, 0),
        ("2025-05", 0, 0),
        ("2025-06", 0, 0),
    ]
    # E1 (twice) and E2 from partner-country administrations, E3 from an EU member state,
    # E4 from an international organisation.
    assert [
        (o["key"], o["experts"], o["deployments"], o["percent"]) for o in deployments["by_origin"]
    ] == [("south_south", 2, 3, 50.0), ("eu_member_state", 1, 1, 25.0), ("other", 1, 1, 25.0)]
    assert deployments["south_south_percent"] == 50.0


def test_it_counts_indicators_by_progress(portfolio):
    indicators = report_for()["indicators"]

    assert counts(indicators["by_status"]) == {
        "not_measured": 1,
        "on_track": 2,
        "at_risk": 1,
        "off_track": 1,
        "achieved": 1,
    }
    # On track or reached: 3 of the 5 measured.
    assert (indicators["total"], indicators["measured"], indicators["on_track"]) == (6, 5, 3)
    assert indicators["on_track_percent"] == 60.0


def test_it_averages_dac_ratings_and_satisfaction(portfolio):
    report = report_for()

    # A2 (4 3 3 2 3 4), A6 (3 3 2 2 4 3), A7 (3 4 4 3 2 3); A1's draft (all 1) left out.
    assert report["evaluations"] == {
        "submitted": 3,
        "criteria": [
            {"key": "relevance", "label": "Relevance", "average": 3.33},
            {"key": "coherence", "label": "Coherence", "average": 3.33},
            {"key": "effectiveness", "label": "Effectiveness", "average": 3.0},
            {"key": "efficiency", "label": "Efficiency", "average": 2.33},
            {"key": "impact", "label": "Impact", "average": 3.0},
            {"key": "sustainability", "label": "Sustainability", "average": 3.33},
        ],
    }
    # Participants 5, 4, 3, 2 (the 5 of December 2024 left out); partners 4 and 2.
    assert report["feedback"] == {
        "responses": 6,
        "average_satisfaction": 3.33,
        "by_respondent": [
            {
                "key": "participant",
                "label": "Participant",
                "responses": 4,
                "average_satisfaction": 3.5,
            },
            {"key": "partner", "label": "Partner", "responses": 2, "average_satisfaction": 3.0},
        ],
    }


def kpis(report: dict[str, Any]) -> dict[str, Any]:
    return {k["key"]: k["value"] for k in report["kpis"]}


def test_it_sums_the_portfolio_up_in_kpi_tiles(portfolio):
    report = report_for()

    assert kpis(report) == {
        "requests_received": 8,
        "median_days_to_decision": 12.5,
        "acceptance_rate": 66.7,
        "actions_running": 1,
        "experts_deployed": 4,
        "south_south_share": 50.0,
        "indicators_on_track": 60.0,
        "average_satisfaction": 3.33,
    }
    assert [k["unit"] for k in report["kpis"]] == [
        "count",
        "days",
        "percent",
        "count",
        "count",
        "percent",
        "percent",
        "score",
    ]
    assert json.loads(json.dumps(report)) == report


# --- filters ------------------------------------------------------------------------------------


def test_it_narrows_everything_to_a_country(portfolio):
    report = report_for(country="TN")
    requests = report["requests"]

    # R1, R2, R6 received; R1, R2, R9 decided.
    assert (requests["received"], requests["decided"], requests["accepted"]) == (3, 3, 2)
    # Two first responses (1 and 2 days): median 1.5, 90th percentile 1 + 0.9 × 1.
    assert (requests["first_response"]["median_days"], requests["first_response"]["p90_days"]) == (
        1.5,
        1.9,
    )
    # Decisions after 4, 10 and 64 days: median 10, 90th percentile 10 + 0.8 × 54.
    assert (requests["decision"]["median_days"], requests["decision"]["p90_days"]) == (10.0, 53.2)
    assert requests["decision"]["on_time_percent"] == 66.7
    assert requests["overdue_now"] == 1
    assert (report["actions"]["total"], counts(report["actions"]["by_region"])["Africa"]) == (1, 1)
    deployments = report["deployments"]
    assert (deployments["total"], deployments["expert_days"], deployments["experts"]) == (2, 11, 2)
    assert deployments["south_south_percent"] == 50.0
    assert report["indicators"]["on_track_percent"] == 100.0
    assert report["evaluations"]["submitted"] == 0
    assert {c["average"] for c in report["evaluations"]["criteria"]} == {None}
    assert (report["feedback"]["responses"], report["feedback"]["average_satisfaction"]) == (4, 4.0)
    assert report["filters"]["country"] == "TN"


def test_it_narrows_everything_to_a_region(portfolio):
    report = report_for(region="Americas")
    requests = report["requests"]

    # R4 and R7 (Peru).
    assert (requests["received"], requests["decided"], requests["acceptance_rate_percent"]) == (
        2,
        2,
        50.0,
    )
    assert (requests["first_response"]["median_days"], requests["first_response"]["p90_days"]) == (
        0.75,
        0.95,
    )
    assert (requests["decision"]["median_days"], requests["decision"]["p90_days"]) == (13.0, 18.6)
    assert requests["overdue_now"] == 0
    assert counts(report["actions"]["by_status"])["approved"] == 1
    assert counts(report["actions"]["by_region"]) == {
        "Africa": 0,
        "Americas": 1,
        "Asia": 0,
        "Europe": 0,
        "Oceania": 0,
    }
    deployments = report["deployments"]
    assert (deployments["total"], deployments["expert_days"]) == (1, 3)
    assert [o["percent"] for o in deployments["by_origin"]] == [100.0, 0.0, 0.0]
    # A6's evaluation (Peru, submitted in February).
    assert report["evaluations"]["submitted"] == 1
    assert [c["average"] for c in report["evaluations"]["criteria"]] == [
        3.0,
        3.0,
        2.0,
        2.0,
        4.0,
        3.0,
    ]
    assert (report["feedback"]["responses"], report["feedback"]["average_satisfaction"]) == (
        0,
        None,
    )


def test_it_narrows_everything_to_a_thematic_area(portfolio):
    report = report_for(thematic_area="data")

    # R1, R4, R6, R10 received; R1, R4, R9 decided, all accepted.
    assert report["requests"]["received"] == 4
    assert report["requests"]["acceptance_rate_percent"] == 100.0
    assert report["actions"]["total"] == 2
    assert {b["key"]: b["count"] for b in report["actions"]["by_thematic_area"] if b["count"]} == {
        "data": 2,
        "labour-migration": 1,
    }
    deployments = report["deployments"]
    assert (deployments["total"], deployments["expert_days"], deployments["experts"]) == (3, 14, 2)
    assert [o["percent"] for o in deployments["by_origin"]] == [50.0, 50.0, 0.0]
    assert (report["indicators"]["total"], report["indicators"]["on_track_percent"]) == (4, 100.0)


def test_it_narrows_everything_to_a_gcm_objective(portfolio):
    report = report_for(gcm_objective=23)
    requests = report["requests"]

    # R2 (declined) and R5 (under review, overdue).
    assert (requests["received"], requests["decided"], requests["acceptance_rate_percent"]) == (
        2,
        1,
        0.0,
    )
    assert (requests["first_response"]["median_days"], requests["first_response"]["p90_days"]) == (
        4.0,
        5.6,
    )
    assert requests["overdue_now"] == 1
    assert {o["key"]: o["count"] for o in report["actions"]["by_gcm_objective"] if o["count"]} == {
        1: 1,
        23: 2,
    }
    assert report["deployments"]["total"] == 2


def test_it_shows_zeros_and_no_averages_when_nothing_matches(portfolio):
    report = report_for(gcm_objective=5)

    assert kpis(report) == {
        "requests_received": 0,
        "median_days_to_decision": None,
        "acceptance_rate": None,
        "actions_running": 0,
        "experts_deployed": 0,
        "south_south_share": None,
        "indicators_on_track": None,
        "average_satisfaction": None,
    }
    assert len(report["actions"]["by_gcm_objective"]) == 23
    assert {o["count"] for o in report["actions"]["by_gcm_objective"]} == {0}
    assert report["requests"]["first_response"]["p90_days"] is None
    assert [m["submitted"] for m in report["requests"]["per_month"]] == [0] * 6


def test_it_narrows_everything_to_the_period(portfolio):
    report = portfolio_report(
        PortfolioFilters(date_from=date(2025, 1, 1), date_to=date(2025, 1, 31))
    )

    assert [
        (m["month"], m["submitted"], m["decided"]) for m in report["requests"]["per_month"]
    ] == [("2025-01", 2, 3)]
    assert report["requests"]["received"] == 2
    # A1 and A2 overlap January.
    assert report["actions"]["total"] == 2
    # D1 (E1) and D3 (E2), both South–South.
    assert (report["deployments"]["total"], report["deployments"]["expert_days"]) == (2, 9)
    assert report["deployments"]["south_south_percent"] == 100.0
    # A1's and A2's indicators: on track and reached, 2 of the 4 measured.
    assert (report["indicators"]["total"], report["indicators"]["on_track_percent"]) == (5, 50.0)
    assert report["evaluations"]["submitted"] == 0
    assert report["feedback"]["responses"] == 0


def test_it_keeps_the_number_of_queries_constant_as_the_data_grow(portfolio):
    narrowed = PortfolioFilters(
        date_from=date(2025, 1, 1),
        date_to=date(2025, 6, 30),
        region="Africa",
        country="TN",
        thematic_area="data",
        gcm_objective=1,
    )
    with CaptureQueriesContext(connection) as whole:
        small = portfolio_report(FIRST_HALF_2025)
    with CaptureQueriesContext(connection) as narrow:
        portfolio_report(narrowed)

    build_portfolio(dashboard_people_again(2))
    build_portfolio(dashboard_people_again(3))
    with CaptureQueriesContext(connection) as whole_x3:
        large = portfolio_report(FIRST_HALF_2025)
    with CaptureQueriesContext(connection) as narrow_x3:
        portfolio_report(narrowed)

    assert large["requests"]["received"] == 3 * small["requests"]["received"]
    assert large["deployments"]["expert_days"] == 3 * small["deployments"]["expert_days"]
    assert (
        len(whole.captured_queries)
        == len(narrow.captured_queries)
        == len(whole_x3.captured_queries)
        == len(narrow_x3.captured_queries)
        == REPORT_QUERIES
    )


def dashboard_people_again(n: int) -> dict[str, Any]:
    return {
        "staff": UserFactory(username=f"dashboard-staff-{n}"),
        "approver": UserFactory(username=f"dashboard-approver-{n}", approver=True),
        "partner": UserFactory(username=f"dashboard-partner-{n}", partner=True),
        "evaluator": UserFactory(username=f"dashboard-evaluator-{n}", evaluator=True),
    }


# --- the filters' form -------------------------------------------------------------------------


def test_it_defaults_to_the_last_twelve_months():
    assert default_period(date(2026, 11, 28)) == (date(2025, 12, 1), date(2026, 11, 28))
    assert default_period(date(2026, 1, 31)) == (date(2025, 2, 1), date(2026, 1, 31))
    form = PortfolioFilterForm({}, today=date(2026, 11, 28))
    assert form.is_valid(), form.errors
    assert form.filters() == PortfolioFilters(
        date_from=date(2025, 12, 1), date_to=date(2026, 11, 28)
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # Only the end: the twelve months up to it.
        ({"to": "2025-06-30"}, (date(2024, 7, 1), date(2025, 6, 30))),
        # Only the start: up to today.
        ({"from": "2025-01-15"}, (date(2025, 1, 15), date(2025, 8, 1))),
        # Exactly 24 months.
        ({"from": "2023-08-01", "to": "2025-07-31"}, (date(2023, 8, 1), date(2025, 7, 31))),
    ],
)
def test_it_completes_a_half_given_period(data, expected):
    form = PortfolioFilterForm(data, today=date(2025, 8, 1))

    assert form.is_valid(), form.errors
    filters = form.filters()
    assert (filters.date_from, filters.date_to) == expected


def test_it_limits_the_period_to_24_months():
    assert MAX_MONTHS == 24
    longest = PortfolioFilterForm({"from": "2024-01-31", "to": "2025-12-01"})
    too_long = PortfolioFilterForm({"from": "2024-01-31", "to": "2026-01-01"})

    assert longest.is_valid(), longest.errors
    assert len(portfolio_report(longest.filters())["requests"]["per_month"]) == 24
    assert not too_long.is_valid()
    assert too_long.errors.as_data()["to"][0].code == "period_too_long"


def test_it_reads_codes_slugs_and_numbers():
    form = PortfolioFilterForm(
        {"region": "Asia", "country": "jo", "thematic_area": "data", "gcm_objective": "23"}
    )

    assert form.is_valid(), form.errors
    filters = form.filters()
    assert (filters.region, filters.country, filters.thematic_area, filters.gcm_objective) == (
        "Asia",
        "JO",
        "data",
        23,
    )


def test_it_counts_one_value_as_its_own_median_and_90th_percentile(partner, staff):
    # March 2023: nothing of the module's data set is there.
    dated_request(
        "accepted", partner, staff, country="TN", area="data", gcm=1,
        submitted=at(2023, 3, 3, 8), responded=timedelta(hours=6), decided=timedelta(days=3),
    )  # fmt: skip

    requests = portfolio_report(
        PortfolioFilters(date_from=date(2023, 3, 1), date_to=date(2023, 3, 31))
    )["requests"]

    assert requests["received"] == 1
    assert (requests["first_response"]["median_days"], requests["first_response"]["p90_days"]) == (
        0.25,
        0.25,
    )
    assert (requests["decision"]["median_days"], requests["decision"]["p90_days"]) == (3.0, 3.0)


# --- the API --------------------------------------------------------------------------------------


def test_it_answers_the_api_with_the_reports_own_dict(portfolio, api_as, staff):
    response = api_as(staff).get(API, {**PERIOD, "region": "Africa", "thematic_area": "data"})

    assert response.status_code == 200
    assert response.json() == portfolio_report(
        PortfolioFilters(
            date_from=date(2025, 1, 1),
            date_to=date(2025, 6, 30),
            region="Africa",
            thematic_area="data",
        )
    )
    assert response.json()["requests"]["received"] == 3  # R1, R6 and R10


def test_it_gives_the_api_labels_in_the_requests_language(portfolio, api_as, staff):
    response = api_as(staff).get(API, PERIOD, HTTP_ACCEPT_LANGUAGE="fr")

    body = response.json()
    assert body["requests"]["per_month"][0]["label"] == "janvier 2025"
    assert body["actions"]["by_status"][0]["label"] == "En conception"


def test_it_keeps_the_api_for_programme_staff(api, api_as, partner, expert, evaluator, admin_user):
    assert api.get(API).status_code == 401
    for user in (partner, expert, evaluator):
        response = api_as(user).get(API)
        assert response.status_code == 403
        assert response.json()["errors"][0]["code"] == "permission_denied"
    assert api_as(admin_user).get(API).status_code == 200


@pytest.mark.parametrize(
    ("params", "attr", "code"),
    [
        ({"from": "2025-13-01"}, "from", "invalid"),
        ({"to": "yesterday"}, "to", "invalid"),
        ({"from": "2025-06-01", "to": "2025-05-31"}, "to", "period_order"),
        ({"from": "2023-01-01", "to": "2025-01-01"}, "to", "period_too_long"),
        ({"from": "2020-01-01"}, "from", "period_too_long"),
        ({"from": "9999-01-01"}, "from", "out_of_range"),
        ({"to": "1899-12-31"}, "to", "out_of_range"),
        ({"region": "Atlantis"}, "region", "invalid_choice"),
        ({"country": "XX"}, "country", "invalid_choice"),
        ({"thematic_area": "astrology"}, "thematic_area", "invalid_choice"),
        ({"gcm_objective": "24"}, "gcm_objective", "invalid_choice"),
        ({"gcm_objective": "one"}, "gcm_objective", "invalid_choice"),
    ],
)
def test_it_refuses_bad_filters_with_field_errors(api_as, staff, params, attr, code):
    response = api_as(staff).get(API, params)

    assert response.status_code == 400
    assert list(errors(response)) == [attr]
    assert response.json()["type"] == "validation_error"
    assert response.json()["errors"][0]["code"] == code


# --- the page ------------------------------------------------------------------------------------


def json_script(response: Any, element_id: str) -> Any:
    match = re.search(
        rf'<script id="{element_id}" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert match, f"no #{element_id}"
    return json.loads(match.group(1))


def table_rows(response: Any, name: str) -> list[list[str]]:
    """The rows of table ``name`` as text (row header first)."""
    match = re.search(
        rf'<table[^>]*id="table-{name}"[^>]*>(.*?)</table>', response.content.decode(), re.S
    )
    assert match, f"no table {name}"
    body = match.group(1).split("<tbody>")[1]
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        rows.append([html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells])
    return rows


def test_it_shows_the_dashboard_to_programme_staff_only(client, staff, partner, expert, evaluator):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/dashboard/"
    for user in (partner, expert, evaluator):
        client.force_login(user)
        assert client.get(URL).status_code == 403
        assert client.get(URL, {"table": "feedback", "export": "csv"}).status_code == 403
    client.force_login(staff)
    assert client.get(URL).status_code == 200


def test_it_renders_the_reports_dict_as_tiles_charts_and_tables(portfolio, client, staff):
    client.force_login(staff)

    response = client.get(URL, PERIOD)

    assert response.status_code == 200
    assert json_script(response, "portfolio-report") == portfolio_report(FIRST_HALF_2025)
    body = html.unescape(response.content.decode())
    assert "Figures from Jan. 1, 2025 to June 30, 2025." in body
    tiles = re.findall(
        r'kpi-tile" data-testid="kpi-([a-z_]+)".*?kpi-value mb-0">(.*?)</p>', body, re.S
    )
    assert [(key, re.sub(r"<[^>]+>", "", value).strip()) for key, value in tiles] == [
        ("requests_received", "8"),
        ("median_days_to_decision", "12.5 days"),
        ("acceptance_rate", "66.7 %"),
        ("actions_running", "1"),
        ("experts_deployed", "4"),
        ("south_south_share", "50.0 %"),
        ("indicators_on_track", "60.0 %"),
        ("average_satisfaction", "3.33 / 5"),
    ]
    charts = {c["id"]: c for c in json_script(response, "dashboard-charts")}
    requests = charts["chart-requests-per-month"]
    assert requests["labels"][:2] == ["January 2025", "February 2025"]
    assert [(d["label"], d["data"]) for d in requests["datasets"]] == [
        ("Submitted", [2, 2, 2, 1, 1, 0]),
        ("Decided", [3, 1, 1, 0, 1, 0]),
    ]
    # Two lines: told apart by their style, not by colour alone.
    assert [d["style"] for d in requests["datasets"]] == [0, 1]
    assert charts["chart-timeliness"]["datasets"][0]["data"] == [1.5, 4.5, 12.5, 42.0]
    assert charts["chart-actions-by-gcm-objective"]["labels"] == [str(n) for n in range(1, 24)]
    deployments = charts["chart-deployments-per-month"]["datasets"]
    assert [(d["kind"], d["data"][:3]) for d in deployments] == [
        ("bar", [2, 1, 2]),
        ("line", [9, 6, 5]),
    ]
    assert charts["chart-experts-by-origin"]["datasets"][0]["data"] == [50.0, 25.0, 25.0]
    assert charts["chart-dac-ratings"]["datasets"][0]["data"] == [3.33, 3.33, 3.0, 2.33, 3.0, 3.33]
    # Each chart has a canvas and, right under it, the table with the same figures.
    for chart_id in charts:
        name = chart_id.removeprefix("chart-")
        figure = re.search(
            rf'<canvas id="{chart_id}" role="img" aria-labelledby="caption-{name}"'
            rf'.*?<details class="chart-data" open data-chart-table>.*?<table[^>]*'
            rf'id="table-{name}"',
            body,
            re.S,
        )
        assert figure, chart_id
    assert table_rows(response, "requests-per-month")[0] == ["January 2025", "2", "3", "2", "1"]
    assert table_rows(response, "timeliness") == [
        ["First response", "6", "1.5", "4.5", "2", "4", "66.7"],
        ["Decision", "6", "12.5", "42.0", "10", "3", "50.0"],
    ]
    assert table_rows(response, "experts-by-origin")[0] == [
        "Partner-country administrations (South–South)",
        "2",
        "3",
        "50.0",
    ]
    assert len(table_rows(response, "actions-by-gcm-objective")) == 23
    assert table_rows(response, "feedback")[-1] == ["All", "6", "3.33"]
    assert table_rows(response, "dac-ratings")[0] == ["Relevance", "3.33"]


def test_it_marks_up_the_tables_and_scripts_for_csp_and_screen_readers(portfolio, client, staff):
    client.force_login(staff)

    body = client.get(URL, PERIOD).content.decode()

    tables = re.findall(r"<table.*?</table>", body, re.S)
    assert len(tables) == 11
    for table in tables:
        assert re.search(r"<caption>[^<]+</caption>", table)
        assert '<th scope="col"' in table
        assert '<th scope="row">' in table
    scripts = re.findall(r"<script[^>]*>", body)
    assert scripts, "no scripts"
    for tag in scripts:
        assert " src=" in tag or 'type="application/json"' in tag, tag
    assert "/static/vendor/chart.js/chart.umd.min.js" in body
    assert "/static/js/dashboard.js" in body
    assert "/static/css/dashboard.css" in body
    assert " style=" not in body
    assert " onclick=" not in body


def test_it_shows_the_last_twelve_months_by_default(client, staff):
    client.force_login(staff)

    response = client.get(URL)

    start, end = default_period()
    assert response.status_code == 200
    assert len(table_rows(response, "requests-per-month")) == 12
    assert json_script(response, "portfolio-report")["filters"]["from"] == start.isoformat()
    assert f'value="{end.isoformat()}"' in response.content.decode()


def test_it_translates_the_page(portfolio, client, staff):
    staff.language = "fr"
    staff.save(update_fields=["language"])
    client.force_login(staff)

    response = client.get(URL, PERIOD)

    assert table_rows(response, "requests-per-month")[0][0] == "janvier 2025"
    assert table_rows(response, "actions-by-status")[0] == ["En conception", "1"]
    assert json_script(response, "dashboard-charts")[0]["labels"][0] == "janvier 2025"


def test_it_shows_filter_errors_on_the_page(client, staff):
    client.force_login(staff)

    response = client.get(URL, {"from": "2025-06-01", "to": "2025-05-01", "country": "XX"})

    assert response.status_code == 400
    body = html.unescape(response.content.decode())
    assert "The end of the period must not be before its start." in body
    assert re.search(r'id="id_to_error" role="alert"', body)
    assert re.search(r'<input[^>]*name="to"[^>]*aria-invalid="true"', body)
    assert re.search(r'id="id_country_error" role="alert"', body)
    assert 'data-testid="dashboard-invalid"' in body
    assert "dashboard-charts" not in body
    assert "chart.umd.min.js" not in body


def test_it_downloads_a_table_as_csv_with_the_filters(portfolio, client, staff):
    client.force_login(staff)

    page = client.get(URL, {**PERIOD, "country": "tn"})
    link = re.search(
        r'href="([^"]+)" data-testid="download-requests-per-month"', page.content.decode()
    )
    assert link
    response = client.get(URL + html.unescape(link.group(1)))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[0] == ["Month", "Submitted", "Decided", "Accepted", "Declined"]
    # Tunisia only: R1, R2 received and R1, R2, R9 decided in January; R6 in April.
    assert rows[1:] == [
        ["January 2025", "2", "3", "2", "1"],
        ["February 2025", "0", "0", "0", "0"],
        ["March 2025", "0", "0", "0", "0"],
        ["April 2025", "1", "0", "0", "0"],
        ["May 2025", "0", "0", "0", "0"],
        ["June 2025", "0", "0", "0", "0"],
    ]


def test_it_refuses_an_unknown_table_or_format(client, staff):
    client.force_login(staff)

    assert client.get(URL, {"table": "salaries", "export": "csv"}).status_code == 404
    response = client.get(URL, {"table": "feedback", "export": "pdf"})
    assert response.status_code == 400
    assert "Choose CSV or XLSX" in html.unescape(response.content.decode())


def test_it_keeps_the_page_queries_constant(portfolio, client, staff):
    client.force_login(staff)
    with CaptureQueriesContext(connection) as whole:
        assert client.get(URL, PERIOD).status_code == 200
    with CaptureQueriesContext(connection) as narrow:
        params = {**PERIOD, "region": "Africa", "country": "TN", "thematic_area": "data"}
        assert client.get(URL, {**params, "gcm_objective": 1}).status_code == 200

    # The form's look-ups (country, thematic area, GCM objective) come on top.
    assert len(narrow.captured_queries) == len(whole.captured_queries) + 3


# --- the figures kept in the cache (DASHBOARD_CACHE_SECONDS) ----------------------------------


def _report_queries(
    client: Any, url: str, params: dict[str, Any], **headers: Any
) -> tuple[Any, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params, **headers)
    assert response.status_code == 200
    report = [q for q in captured if 'FROM "django_session"' not in q["sql"]]
    return response, len(report)


def test_it_computes_the_figures_on_every_view_by_default(portfolio, api_as, staff, settings):
    assert settings.DASHBOARD_CACHE_SECONDS == 0
    client = api_as(staff)
    _, first = _report_queries(client, API, PERIOD)
    _, second = _report_queries(client, API, PERIOD)

    assert second == first >= REPORT_QUERIES


def test_it_keeps_the_figures_per_filters_and_language(portfolio, api_as, staff, settings):
    settings.DASHBOARD_CACHE_SECONDS = 300
    client = api_as(staff)

    first, computed = _report_queries(client, API, PERIOD)
    again, kept = _report_queries(client, API, PERIOD)
    assert computed >= REPORT_QUERIES
    assert kept <= computed - REPORT_QUERIES  # none of the report's own queries
    assert again.json() == first.json()
    assert again["Last-Modified"] == first["Last-Modified"]

    narrowed, narrowed_queries = _report_queries(client, API, {**PERIOD, "region": "Africa"})
    assert narrowed_queries >= REPORT_QUERIES
    assert narrowed.json()["filters"]["region"] == "Africa"

    french, french_queries = _report_queries(client, API, PERIOD, HTTP_ACCEPT_LANGUAGE="fr")
    assert french_queries >= REPORT_QUERIES
    assert french.json()["kpis"][0]["label"] != first.json()["kpis"][0]["label"]


def test_a_kept_report_misses_what_happened_since_until_it_expires(
    portfolio, api_as, staff, settings
):
    from django.core.cache import cache

    settings.DASHBOARD_CACHE_SECONDS = 300
    client = api_as(staff)
    before = client.get(API, PERIOD).json()["requests"]["received"]
    moved = AssistanceRequest.objects.filter(submitted_at__range=(at(2025, 1, 2), at(2025, 6, 29)))
    # One request of the period now dates from before it.
    AssistanceRequest.objects.filter(pk=moved.order_by("pk").values("pk")[:1]).update(
        submitted_at=at(2024, 1, 2)
    )

    assert client.get(API, PERIOD).json()["requests"]["received"] == before
    cache.clear()  # what expiry does
    assert client.get(API, PERIOD).json()["requests"]["received"] == before - 1


def test_the_page_says_when_kept_figures_were_computed(portfolio, client, staff, settings):
    client.force_login(staff)
    assert "Computed at" not in client.get(URL, PERIOD).content.decode()

    settings.DASHBOARD_CACHE_SECONDS = 300
    first = client.get(URL, PERIOD)
    body = html.unescape(first.content.decode())
    assert re.search(r"Computed at [^;]+; the figures are refreshed every 5 minutes\.", body)
    assert json_script(client.get(URL, PERIOD), "portfolio-report") == json_script(
        first, "portfolio-report"
    )


# --- the first view computed ahead (evaluations.tasks.warm_dashboard) ---------------------------


def test_beat_computes_the_first_view_ahead_of_its_expiry(settings):
    from evaluations import tasks

    entry = settings.CELERY_BEAT_SCHEDULE["dashboard-warm"]
    assert entry["task"] == tasks.warm_dashboard.name
    assert entry["schedule"].total_seconds() < 300  # production keeps the figures 300 s


def test_the_first_view_is_served_computed_ahead_in_every_language(
    portfolio, client, api_as, staff, settings, monkeypatch
):
    from evaluations import dashboard, tasks

    settings.DASHBOARD_CACHE_SECONDS = 300
    # In process: a worker has its own settings, which keep nothing (the embedded default).
    assert tasks.warm_dashboard() == len(settings.LANGUAGES) == 3

    def not_computed(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the report was computed on request, not ahead")

    monkeypatch.setattr(dashboard, "portfolio_report", not_computed)
    for language in ("en", "fr", "es"):
        staff.language = language  # the page speaks the user's language
        staff.save(update_fields=["language"])
        client.force_login(staff)
        page = client.get(URL)
        assert page.status_code == 200
        assert page["Content-Language"] == language
        assert api_as(staff).get(API).status_code == 200
    with pytest.raises(AssertionError, match="computed on request"):
        client.get(URL, {"region": "Africa"})  # a view not computed ahead


def test_nothing_is_computed_ahead_when_the_figures_are_not_kept(portfolio, settings):
    from evaluations import tasks

    assert settings.DASHBOARD_CACHE_SECONDS == 0
    with CaptureQueriesContext(connection) as captured:
        assert tasks.warm_dashboard() == 0
    assert len(captured) == 0
