"""The monitoring and evaluation API (DESIGN.md §5; issue 6 "API", "Bad input", "Exports"
and "Done when"): indicators, measurements, outcomes, feedback, feedback links and final
evaluations — who sees what (404 outside one's scope, empty lists), who may change what
(403 for a visible object, 409 for a state that does not allow it), field errors with
nothing saved, evidence uploads, the ``submit`` transition, follow-up requests, CSV/XLSX
exports and query counts that do not grow with the data.

Error bodies are ``{"type", "errors": [{"code", "detail", "attr"}]}``; ``errors(response)``
checks that shape and returns ``{attr: [detail, ...]}``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook
from rest_framework.test import APIClient

from actions import services as action_services
from actions.models import Action, Activity
from evaluations import services
from evaluations.models import (
    Feedback,
    FeedbackLink,
    FinalEvaluation,
    Indicator,
    Measurement,
    Outcome,
    Recommendation,
)
from requests_app.models import AssistanceRequest
from tests.actions.api_helpers import errors
from tests.evaluations.builders import (
    COMPLETE_EVALUATION,
    complete_evaluation,
    days_ago,
    make_indicator,
    measure,
    resolved,
    running_action,
    submitted_evaluation,
)
from tests.factories import UserFactory
from tests.requests_app.helpers import fake_pdf_upload, pdf_upload

INDICATORS = "/api/v1/indicators/"
MEASUREMENTS = "/api/v1/measurements/"
OUTCOMES = "/api/v1/outcomes/"
FEEDBACK = "/api/v1/feedback/"
LINKS = "/api/v1/feedback-links/"
EVALUATIONS = "/api/v1/evaluations/"

ROLES = ["partner", "partner2", "staff", "approver", "expert", "evaluator", "evaluator2"]


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def evaluator3(db: Any) -> Any:
    """The evaluator of ``other_action`` (partner2's)."""
    return UserFactory(username="evaluator3", evaluator=True)


@pytest.fixture
def other_action(partner2: Any, staff: Any, approver: Any, evaluator3: Any) -> Action:
    """A running action of another organisation (partner2's), evaluated by evaluator3."""
    return running_action(partner2, staff, approver, evaluator=evaluator3)


@pytest.fixture
def users(personas: dict[str, Any], evaluator2: Any) -> dict[str, Any]:
    return {**personas, "evaluator2": evaluator2}


@pytest.fixture
def staff_api(api_as: Any, staff: Any) -> APIClient:
    return api_as(staff)


@pytest.fixture
def evaluator_api(api_as: Any, evaluator: Any) -> APIClient:
    return api_as(evaluator)


def url(base: str, obj: Any, suffix: str = "") -> str:
    pk = obj if isinstance(obj, int) else obj.pk
    return f"{base}{pk}/{suffix + '/' if suffix else ''}"


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content[:500]
    return [item["id"] for item in response.json()["results"]]


def first_activity(action: Action) -> Activity:
    return Activity.objects.filter(action=action).order_by("id").first()  # type: ignore[return-value]


def today() -> str:
    return timezone.localdate().isoformat()


@dataclass
class World:
    """The same kinds of records on ``action`` (partner's, evaluator assigned) and on
    ``other_action`` (partner2's, evaluator3 assigned)."""

    indicator: Indicator
    measurement: Measurement
    outcome: Outcome
    partner_feedback: Feedback
    participant_feedback: Feedback
    link: FeedbackLink
    evaluation: FinalEvaluation
    other_indicator: Indicator
    other_measurement: Measurement
    other_outcome: Outcome
    other_feedback: Feedback
    other_link: FeedbackLink
    other_evaluation: FinalEvaluation


@pytest.fixture
def world(
    action: Action,
    other_action: Action,
    partner: Any,
    partner2: Any,
    staff: Any,
    evaluator: Any,
    evaluator3: Any,
) -> World:
    indicator = make_indicator(action, evaluator)
    other_indicator = make_indicator(other_action, staff, name="Cases processed on time")
    activity, other_activity = first_activity(action), first_activity(other_action)
    link, other_link = (
        services.feedback_links_create(activity_id=a.pk, by=staff, count=1)[0]
        for a in (activity, other_activity)
    )
    outcome_data = {"level": "individual", "description": "Analysts use the register."}
    return World(
        indicator=indicator,
        measurement=measure(indicator, evaluator, "30", days_ago=10),
        outcome=services.outcome_record(
            action_id=action.pk, by=evaluator, data={**outcome_data, "date": days_ago(3)}
        ),
        partner_feedback=services.feedback_submit(
            activity_id=activity.pk, by=partner, data={"satisfaction": 4, "comments": "Useful."}
        ),
        participant_feedback=services.feedback_submit_by_link(
            token=link.token, data={"satisfaction": 2, "comments": "Too short."}
        ),
        link=link,
        evaluation=complete_evaluation(action, evaluator),
        other_indicator=other_indicator,
        other_measurement=measure(other_indicator, staff, "25", days_ago=5),
        other_outcome=services.outcome_record(
            action_id=other_action.pk, by=staff, data={**outcome_data, "date": days_ago(4)}
        ),
        other_feedback=services.feedback_submit(
            activity_id=other_activity.pk, by=partner2, data={"satisfaction": 5}
        ),
        other_link=other_link,
        other_evaluation=complete_evaluation(other_action, evaluator3),
    )


# --- who sees what ------------------------------------------------------------------------

# Monitoring records follow the action: staff see all; a partner its organisation's
# (approved) actions; an evaluator the actions assigned to them; experts and unassigned
# evaluators nothing.
MONITORING_SCOPE = {
    "staff": {"own", "other"},
    "approver": {"own", "other"},
    "partner": {"own"},
    "partner2": {"other"},
    "evaluator": {"own"},
    "evaluator2": set(),
    "expert": set(),
}


def expected(world: World, endpoint: str, who: str) -> set[int]:
    """The ids ``who`` sees in ``endpoint`` (the scope each collection promises)."""
    w = world
    scope = MONITORING_SCOPE[who]
    records: dict[str, tuple[list[Any], list[Any]]] = {
        "indicators": ([w.indicator], [w.other_indicator]),
        "measurements": ([w.measurement], [w.other_measurement]),
        "outcomes": ([w.outcome], [w.other_outcome]),
        "feedback": ([w.partner_feedback, w.participant_feedback], [w.other_feedback]),
        # Drafts: staff and the assigned evaluator only; the partner reads it once submitted.
        "evaluations": ([w.evaluation], [w.other_evaluation]),
    }
    own, other = records[endpoint]
    found = [*(own if "own" in scope else []), *(other if "other" in scope else [])]
    if endpoint == "feedback" and who in ("partner", "partner2"):
        # Participants answer in confidence: a partner reads its own focal points' answers.
        found = [f for f in found if f.respondent == "partner"]
    if endpoint == "evaluations" and who in ("partner", "partner2"):
        found = []
    return {obj.pk for obj in found}


COLLECTIONS = {
    "indicators": INDICATORS,
    "measurements": MEASUREMENTS,
    "outcomes": OUTCOMES,
    "feedback": FEEDBACK,
    "evaluations": EVALUATIONS,
}


def all_records(world: World, endpoint: str) -> list[Any]:
    w = world
    return {
        "indicators": [w.indicator, w.other_indicator],
        "measurements": [w.measurement, w.other_measurement],
        "outcomes": [w.outcome, w.other_outcome],
        "feedback": [w.partner_feedback, w.participant_feedback, w.other_feedback],
        "evaluations": [w.evaluation, w.other_evaluation],
    }[endpoint]


@pytest.mark.parametrize("who", ROLES)
def test_it_scopes_every_list_to_the_user(api_as, users, world, who):
    api = api_as(users[who])

    for endpoint, path in COLLECTIONS.items():
        response = api.get(path)
        assert set(ids(response)) == expected(world, endpoint, who), (endpoint, who)
        assert response.json()["count"] == len(expected(world, endpoint, who))


@pytest.mark.parametrize("who", ROLES)
def test_it_answers_404_for_records_outside_the_users_scope(api_as, users, world, who):
    api = api_as(users[who])

    for endpoint, path in COLLECTIONS.items():
        visible = expected(world, endpoint, who)
        for record in all_records(world, endpoint):
            response = api.get(url(path, record))
            code = 200 if record.pk in visible else 404
            assert response.status_code == code, (endpoint, who, record.pk, response.content)
            if code == 200:
                assert response.json()["id"] == record.pk


@pytest.mark.parametrize(
    "path",
    [
        INDICATORS,
        MEASUREMENTS,
        OUTCOMES,
        FEEDBACK,
        LINKS,
        EVALUATIONS,
        f"{INDICATORS}export/?file=csv",
        f"{EVALUATIONS}export/?file=csv",
    ],
)
def test_it_answers_401_to_anonymous_requests(api, world, path):
    response = api.get(path)

    assert response.status_code == 401
    assert errors(response) == {None: ["Authentication credentials were not provided."]}


def test_it_answers_401_to_anonymous_writes_and_details(api, world):
    w = world
    for path, obj in [
        (INDICATORS, w.indicator),
        (MEASUREMENTS, w.measurement),
        (OUTCOMES, w.outcome),
        (FEEDBACK, w.partner_feedback),
        (EVALUATIONS, w.evaluation),
    ]:
        assert api.get(url(path, obj)).status_code == 401, path
        assert api.post(path, {}).status_code == 401, path
    assert api.patch(url(INDICATORS, w.indicator), {"name": "x"}).status_code == 401
    assert api.delete(url(MEASUREMENTS, w.measurement)).status_code == 401
    assert api.post(url(EVALUATIONS, w.evaluation, "submit")).status_code == 401
    assert api.post(LINKS, {"activity": w.link.activity_id, "count": 1}).status_code == 401
    assert Indicator.objects.get(pk=w.indicator.pk).name != "x"
    assert Measurement.objects.filter(pk=w.measurement.pk).exists()


def test_it_shows_an_indicator_with_its_progress_and_measurements(api_as, partner, world):
    w = world
    newer = measure(w.indicator, w.measurement.recorded_by, "40", days_ago=1, note="Audit")

    data = api_as(partner).get(url(INDICATORS, w.indicator)).json()

    assert data["action"] == w.indicator.action_id
    assert (data["level"], data["unit"], data["direction"], data["frequency"]) == (
        "organisational",
        "percentage",
        "increase",
        "quarterly",
    )
    assert (data["baseline"], data["target"]) == ("20.00", "60.00")
    assert (data["latest_value"], data["latest_date"]) == ("40.00", days_ago(1).isoformat())
    assert Decimal(data["progress"]) == Decimal("0.5")
    assert data["progress_status"] in {"on_track", "at_risk", "off_track"}
    assert data["next_due"] is not None
    assert [m["id"] for m in data["measurements"]] == [newer.pk, w.measurement.pk]
    assert data["measurements"][0]["note"] == "Audit"
    assert data["measurements"][0]["recorded_by"] == w.measurement.recorded_by.display_name
    assert data["measurements"][0]["evidence_file"] is None


# --- indicators: writes -------------------------------------------------------------------


def indicator_body(action: Action, **extra: Any) -> dict[str, Any]:
    return {
        "action": action.pk,
        "name": "Officers trained in interviewing",
        "level": "individual",
        "unit": "number",
        "baseline": "0",
        "target": "40",
        "means_of_verification": "Attendance lists",
        **extra,
    }


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("staff", 201),
        ("approver", 201),
        ("evaluator", 201),
        ("partner", 403),  # sees the action, may not define its indicators
        ("partner2", 400),  # the action is not one they can name
        ("expert", 400),
        ("evaluator2", 400),
    ],
)
def test_it_lets_staff_and_the_assigned_evaluator_define_indicators(
    api_as, users, action, who, code
):
    objective = action.objectives.first()

    response = api_as(users[who]).post(
        INDICATORS, indicator_body(action, objective=objective.pk, frequency="monthly")
    )

    assert response.status_code == code, response.content
    if code == 201:
        data = response.json()
        indicator = Indicator.objects.get(pk=data["id"])
        assert (indicator.action_id, indicator.objective_id) == (action.pk, objective.pk)
        assert indicator.created_by == users[who]
        assert (data["progress_status"], data["measurements"]) == ("not_measured", [])
        assert (data["direction"], data["frequency"]) == ("increase", "monthly")
    else:
        assert not Indicator.objects.exists()
    if code == 400:
        assert list(errors(response)) == ["action"]


@pytest.mark.parametrize(
    ("change", "attr"),
    [
        ({"unit": "kilograms"}, "unit"),
        ({"level": "national"}, "level"),
        ({"name": ""}, "name"),
        ({"baseline": "lots"}, "baseline"),
        ({"unit": "percentage", "target": "140"}, "target"),
        ({"unit": "yes_no", "baseline": "0", "target": "2"}, "target"),
        ({"target": "0"}, "target"),  # equal to the baseline
        ({"direction": "increase", "target": "-5"}, "target"),
        ({"direction": "sideways"}, "direction"),
        ({"frequency": "hourly"}, "frequency"),
        ({"objective": 999999}, "objective"),
        ({"baseline": "1.234"}, "baseline"),
        ({"progress_status": "achieved"}, "progress_status"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_it_answers_bad_indicator_input_with_field_errors(staff_api, action, change, attr):
    response = staff_api.post(INDICATORS, indicator_body(action, **change))

    assert response.status_code == 400, response.content
    assert attr in errors(response), errors(response)
    assert not Indicator.objects.exists()


def test_it_names_missing_indicator_fields(staff_api):
    response = staff_api.post(INDICATORS, {})

    assert response.status_code == 400
    assert set(errors(response)) >= {"action", "name", "level", "unit", "baseline", "target"}


def test_it_refuses_an_objective_of_another_action(staff_api, action, other_action):
    foreign = other_action.objectives.first()

    response = staff_api.post(INDICATORS, indicator_body(action, objective=foreign.pk))

    assert response.status_code == 400
    assert list(errors(response)) == ["objective"]
    assert not Indicator.objects.exists()


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("staff", 200),
        ("approver", 200),
        ("evaluator", 200),
        ("partner", 403),
        ("partner2", 404),
        ("expert", 404),
        ("evaluator2", 404),
    ],
)
def test_it_lets_staff_and_the_assigned_evaluator_change_an_indicator(
    api_as, users, world, who, code
):
    response = api_as(users[who]).patch(
        url(INDICATORS, world.indicator), {"target": "50", "name": "Border posts on SOPs"}
    )

    assert response.status_code == code, response.content
    indicator = Indicator.objects.get(pk=world.indicator.pk)
    if code == 200:
        assert (response.json()["target"], response.json()["name"]) == (
            "50.00",
            "Border posts on SOPs",
        )
        # Progress is recomputed against the new target: (30 - 20) / (50 - 20).
        assert Decimal(response.json()["progress"]) == Decimal("0.3333")
        assert indicator.target == Decimal("50")
    else:
        assert indicator.target == Decimal("60")


def test_it_keeps_an_indicator_with_its_action(staff_api, world, other_action):
    response = staff_api.patch(url(INDICATORS, world.indicator), {"action": other_action.pk})

    assert response.status_code == 400
    assert list(errors(response)) == ["action"]
    assert Indicator.objects.get(pk=world.indicator.pk).action_id == world.indicator.action_id


def test_it_refuses_a_bad_indicator_change_and_keeps_it(staff_api, world):
    response = staff_api.patch(url(INDICATORS, world.indicator), {"target": "10"})

    assert response.status_code == 400
    assert list(errors(response)) == ["target"]
    assert Indicator.objects.get(pk=world.indicator.pk).target == Decimal("60")


def test_it_does_not_take_put_on_indicators(staff_api, world):
    response = staff_api.put(
        url(INDICATORS, world.indicator), indicator_body(world.indicator.action)
    )

    assert response.status_code == 405


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("evaluator", 204),
        ("staff", 204),
        ("partner", 403),
        ("partner2", 404),
        ("expert", 404),
        ("evaluator2", 404),
    ],
)
def test_it_removes_an_indicator_without_measurements(api_as, users, action, evaluator, who, code):
    indicator = make_indicator(action, evaluator)

    response = api_as(users[who]).delete(url(INDICATORS, indicator))

    assert response.status_code == code, response.content
    assert Indicator.objects.filter(pk=indicator.pk).exists() == (code != 204)


def test_it_keeps_an_indicator_that_has_measurements(staff_api, world):
    response = staff_api.delete(url(INDICATORS, world.indicator))

    assert response.status_code == 409
    assert "measurements" in errors(response)[None][0]
    assert Indicator.objects.filter(pk=world.indicator.pk).exists()


def test_it_refuses_indicators_on_a_closed_action(staff_api, staff, approver, partner, evaluator):
    cancelled = running_action(partner, staff, approver, evaluator=evaluator)
    action_services.action_transition(
        action_id=cancelled.pk, name="cancel", by=staff, text="The ministry withdrew."
    )

    response = staff_api.post(INDICATORS, indicator_body(cancelled))

    assert response.status_code == 409
    assert not Indicator.objects.exists()


@pytest.mark.parametrize(
    ("params", "expected_names"),
    [
        ({}, ["Cases processed", "Officers trained", "Share of posts"]),
        ({"level": "individual"}, ["Officers trained"]),
        ({"unit": "number"}, ["Cases processed", "Officers trained"]),
        ({"progress_status": "not_measured"}, ["Cases processed", "Officers trained"]),
        (
            {"progress_status": ["achieved", "not_measured"]},
            ["Cases processed", "Officers trained"],
        ),
        ({"search": "officers"}, ["Officers trained"]),
    ],
)
def test_it_filters_and_searches_indicators(
    staff_api, action, other_action, evaluator, staff, params, expected_names
):
    share = make_indicator(action, evaluator, name="Share of posts")
    measure(share, evaluator, "35", days_ago=2)
    make_indicator(
        action,
        evaluator,
        name="Officers trained",
        level="individual",
        unit="number",
        baseline="0",
        target="40",
    )
    make_indicator(
        other_action, staff, name="Cases processed", unit="number", baseline="10", target="100"
    )

    response = staff_api.get(INDICATORS, {**params, "ordering": "name"})

    assert [i["name"] for i in response.json()["results"]] == expected_names


def test_it_filters_indicators_by_action_and_orders_them(
    staff_api, action, other_action, evaluator, staff
):
    first = make_indicator(action, evaluator, name="B indicator")
    second = make_indicator(action, evaluator, name="A indicator")
    make_indicator(other_action, staff)

    by_position = ids(staff_api.get(INDICATORS, {"action": action.pk}))
    by_name = ids(staff_api.get(INDICATORS, {"action": action.pk, "ordering": "name"}))

    assert by_position == [first.pk, second.pk]
    assert by_name == [second.pk, first.pk]


def test_it_refuses_a_bad_filter_value(staff_api, world):
    response = staff_api.get(INDICATORS, {"progress_status": "great"})

    assert response.status_code == 400
    assert "progress_status" in errors(response)


# --- measurements -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("staff", 201),
        ("approver", 201),
        ("evaluator", 201),
        ("partner", 403),
        ("partner2", 400),
        ("expert", 400),
        ("evaluator2", 400),
    ],
)
def test_it_lets_staff_and_the_assigned_evaluator_record_measurements(
    api_as, users, world, who, code
):
    before = Measurement.objects.count()

    response = api_as(users[who]).post(
        MEASUREMENTS,
        {"indicator": world.indicator.pk, "date": today(), "value": "45.5", "note": "Audit"},
    )

    assert response.status_code == code, response.content
    if code == 201:
        data = response.json()
        assert (data["indicator"], data["action"], data["value"], data["date"]) == (
            world.indicator.pk,
            world.indicator.action_id,
            "45.50",
            today(),
        )
        assert data["recorded_by"] == users[who].display_name
        assert data["recorded_at"] is not None
        assert (data["evidence_file"], data["evidence_url"]) == (None, "")
        indicator = Indicator.objects.get(pk=world.indicator.pk)
        assert (indicator.latest_value, indicator.latest_date) == (
            Decimal("45.5"),
            timezone.localdate(),
        )
    else:
        assert Measurement.objects.count() == before
    if code == 400:
        assert list(errors(response)) == ["indicator"]


def test_it_takes_an_evidence_file_as_multipart(evaluator_api, world):
    response = evaluator_api.post(
        MEASUREMENTS,
        {
            "indicator": world.indicator.pk,
            "date": today(),
            "value": "50",
            "evidence_url": "https://example.org/report",
            "evidence_file": pdf_upload("inspection.pdf"),
        },
        format="multipart",
    )

    assert response.status_code == 201, response.content
    data = response.json()
    measurement = Measurement.objects.get(pk=data["id"])
    assert data["evidence_file"] == reverse("evaluations:measurement-evidence", args=[data["id"]])
    assert data["evidence_name"] == "inspection.pdf"
    assert data["evidence_url"] == "https://example.org/report"
    assert measurement.evidence_file.read().startswith(b"%PDF")
    # The storage path never leaves the server.
    assert measurement.evidence_file.name not in response.content.decode()
    listed = evaluator_api.get(url(INDICATORS, world.indicator)).json()["measurements"][0]
    assert listed["evidence_file"] == data["evidence_file"]


def test_it_links_evidence_to_a_download_that_checks_who_asks(
    evaluator_api, world, partner, partner2, client
):
    created = evaluator_api.post(
        MEASUREMENTS,
        {
            "indicator": world.indicator.pk,
            "date": today(),
            "value": "50",
            "evidence_file": pdf_upload("inspection.pdf"),
        },
        format="multipart",
    ).json()

    client.force_login(partner)
    allowed = client.get(created["evidence_file"])
    client.force_login(partner2)
    refused = client.get(created["evidence_file"])

    assert allowed.status_code == 200
    assert b"".join(allowed.streaming_content).startswith(b"%PDF")
    assert "inspection.pdf" in allowed["Content-Disposition"]
    assert refused.status_code == 404


def test_it_refuses_a_file_that_is_not_what_it_claims(evaluator_api, world, settings):
    before = Measurement.objects.count()

    response = evaluator_api.post(
        MEASUREMENTS,
        {
            "indicator": world.indicator.pk,
            "date": today(),
            "value": "50",
            "evidence_file": fake_pdf_upload(),
        },
        format="multipart",
    )

    assert response.status_code == 400
    assert list(errors(response)) == ["evidence_file"]
    assert Measurement.objects.count() == before
    assert not [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()]


@pytest.mark.parametrize(
    ("change", "attr"),
    [
        ({"value": "many"}, "value"),
        ({"value": "140"}, "value"),  # a percentage
        ({"value": "-1"}, "value"),
        ({"value": "12.345"}, "value"),
        ({"value": None}, "value"),
        ({"date": "yesterday"}, "date"),
        ({"date": lambda: (timezone.localdate() + timedelta(days=1)).isoformat()}, "date"),
        ({"date": lambda: (timezone.localdate() - timedelta(days=400)).isoformat()}, "date"),
        ({"evidence_url": "ftp://example.org/x"}, "evidence_url"),
        ({"indicator": 999999}, "indicator"),
        ({"recorded_by": 1}, "recorded_by"),
        ({"weight": 3}, "weight"),
    ],
)
def test_it_answers_bad_measurements_with_field_errors(evaluator_api, world, change, attr):
    before = Measurement.objects.count()
    body = {"indicator": world.indicator.pk, "date": today(), "value": "45", **resolved(change)}

    response = evaluator_api.post(MEASUREMENTS, body)

    assert response.status_code == 400, response.content
    assert attr in errors(response), errors(response)
    assert Measurement.objects.count() == before
    assert Indicator.objects.get(pk=world.indicator.pk).latest_value == Decimal("30")


def test_it_names_the_unit_rule_that_a_value_breaks(evaluator_api, action, evaluator):
    scale = make_indicator(action, evaluator, unit="scale", baseline="2", target="4")

    response = evaluator_api.post(
        MEASUREMENTS, {"indicator": scale.pk, "date": today(), "value": "3.5"}
    )

    assert errors(response) == {"value": ["Use a whole number from 1 to 5."]}


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("evaluator", 204),  # they recorded it
        ("staff", 204),
        ("partner", 403),
        ("partner2", 404),
        ("expert", 404),
        ("evaluator2", 404),
    ],
)
def test_it_removes_a_mistaken_measurement(api_as, users, world, who, code):
    response = api_as(users[who]).delete(url(MEASUREMENTS, world.measurement))

    assert response.status_code == code, response.content
    assert Measurement.objects.filter(pk=world.measurement.pk).exists() == (code != 204)
    if code == 204:
        indicator = Indicator.objects.get(pk=world.indicator.pk)
        assert (indicator.latest_value, indicator.progress_status) == (None, "not_measured")


def test_it_keeps_another_persons_measurement_from_an_evaluator(evaluator_api, world, staff):
    by_staff = measure(world.indicator, staff, "35", days_ago=2)

    response = evaluator_api.delete(url(MEASUREMENTS, by_staff))

    assert response.status_code == 403
    assert Measurement.objects.filter(pk=by_staff.pk).exists()


def test_it_filters_measurements_by_indicator_and_action(staff_api, world, evaluator):
    second = make_indicator(world.indicator.action, evaluator, name="Second")
    on_second = measure(second, evaluator, "22", days_ago=1)

    assert ids(staff_api.get(MEASUREMENTS, {"indicator": second.pk})) == [on_second.pk]
    assert set(ids(staff_api.get(MEASUREMENTS, {"action": world.indicator.action_id}))) == {
        world.measurement.pk,
        on_second.pk,
    }
    assert ids(staff_api.get(MEASUREMENTS, {"action": world.other_indicator.action_id})) == [
        world.other_measurement.pk
    ]


def test_it_does_not_change_a_measurement(staff_api, world):
    response = staff_api.patch(url(MEASUREMENTS, world.measurement), {"value": "99"})

    assert response.status_code == 405
    assert Measurement.objects.get(pk=world.measurement.pk).value == Decimal("30")


# --- outcomes -----------------------------------------------------------------------------


def outcome_body(action: Action, **extra: Any) -> dict[str, Any]:
    return {
        "action": action.pk,
        "level": "organisational",
        "description": "The agency adopted the data protocol.",
        "evidence": "Signed circular of 3 March.",
        "date": today(),
        **extra,
    }


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("staff", 201),
        ("approver", 201),
        ("evaluator", 201),
        ("partner", 403),
        ("partner2", 400),
        ("expert", 400),
        ("evaluator2", 400),
    ],
)
def test_it_lets_staff_and_the_assigned_evaluator_log_outcomes(api_as, users, action, who, code):
    response = api_as(users[who]).post(OUTCOMES, outcome_body(action))

    assert response.status_code == code, response.content
    if code == 201:
        data = response.json()
        outcome = Outcome.objects.get(pk=data["id"])
        assert (outcome.action_id, outcome.level, outcome.recorded_by) == (
            action.pk,
            "organisational",
            users[who],
        )
        assert data["recorded_by"] == users[who].display_name
        assert data["evidence"] == "Signed circular of 3 March."
    else:
        assert not Outcome.objects.exists()


def test_it_takes_outcome_evidence_as_multipart(evaluator_api, action):
    response = evaluator_api.post(
        OUTCOMES,
        {**outcome_body(action), "evidence_file": pdf_upload("circular.pdf")},
        format="multipart",
    )

    assert response.status_code == 201, response.content
    data = response.json()
    assert data["evidence_file"] == reverse("evaluations:outcome-evidence", args=[data["id"]])
    assert data["evidence_name"] == "circular.pdf"
    assert Outcome.objects.get(pk=data["id"]).evidence_file.read().startswith(b"%PDF")


@pytest.mark.parametrize(
    ("change", "attr"),
    [
        ({"level": "global"}, "level"),
        ({"description": ""}, "description"),
        ({"description": "   "}, "description"),
        ({"date": "2020-02-30"}, "date"),
        ({"date": lambda: (timezone.localdate() - timedelta(days=400)).isoformat()}, "date"),
        ({"evidence_url": "javascript:alert(1)"}, "evidence_url"),
        ({"recorded_at": "2026-01-01T00:00:00Z"}, "recorded_at"),
    ],
)
def test_it_answers_bad_outcomes_with_field_errors(evaluator_api, action, change, attr):
    response = evaluator_api.post(OUTCOMES, outcome_body(action, **resolved(change)))

    assert response.status_code == 400, response.content
    assert attr in errors(response), errors(response)
    assert not Outcome.objects.exists()


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("evaluator", 204),
        ("staff", 204),
        ("partner", 403),
        ("partner2", 404),
        ("expert", 404),
        ("evaluator2", 404),
    ],
)
def test_it_removes_an_outcome(api_as, users, world, who, code):
    response = api_as(users[who]).delete(url(OUTCOMES, world.outcome))

    assert response.status_code == code, response.content
    assert Outcome.objects.filter(pk=world.outcome.pk).exists() == (code != 204)


def test_it_filters_outcomes_by_action_and_level(staff_api, world, evaluator):
    enabling = services.outcome_record(
        action_id=world.outcome.action_id,
        by=evaluator,
        data={
            "level": "enabling_environment",
            "description": "Decree adopted.",
            "date": days_ago(1),
        },
    )

    assert set(ids(staff_api.get(OUTCOMES, {"action": world.outcome.action_id}))) == {
        world.outcome.pk,
        enabling.pk,
    }
    assert ids(staff_api.get(OUTCOMES, {"level": "enabling_environment"})) == [enabling.pk]
    assert set(ids(staff_api.get(OUTCOMES, {"level": "individual"}))) == {
        world.outcome.pk,
        world.other_outcome.pk,
    }


# --- feedback -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("partner", 201),
        ("staff", 403),  # sees the activity; partner feedback is the partner's to give
        ("approver", 403),
        ("evaluator", 403),
        ("partner2", 400),  # another organisation's activity cannot be named
        ("expert", 400),
        ("evaluator2", 400),
    ],
)
def test_it_lets_a_partner_focal_point_give_feedback(api_as, users, action, who, code):
    activity = first_activity(action)

    response = api_as(users[who]).post(
        FEEDBACK, {"activity": activity.pk, "satisfaction": 5, "comments": "Practical."}
    )

    assert response.status_code == code, response.content
    if code == 201:
        data = response.json()
        assert (data["activity"], data["action"], data["respondent"]) == (
            activity.pk,
            action.pk,
            "partner",
        )
        assert (data["satisfaction"], data["comments"]) == (5, "Practical.")
        feedback = Feedback.objects.get(pk=data["id"])
        assert feedback.submitted_by == users[who]
    else:
        assert not Feedback.objects.exists()
    if code == 400:
        assert list(errors(response)) == ["activity"]


def test_it_takes_one_answer_per_focal_point_and_activity(api_as, partner, action):
    api = api_as(partner)
    body = {"activity": first_activity(action).pk, "satisfaction": 4}

    first = api.post(FEEDBACK, body)
    again = api.post(FEEDBACK, {**body, "satisfaction": 1})

    assert first.status_code == 201
    assert again.status_code == 409
    assert errors(again) == {None: ["You have already given feedback on this activity."]}
    assert list(Feedback.objects.values_list("satisfaction", flat=True)) == [4]


def test_it_collects_feedback_only_once_the_action_runs(api_as, partner, staff, approver):
    signed = running_action(partner, staff, approver, state="signed")

    response = api_as(partner).post(
        FEEDBACK, {"activity": first_activity(signed).pk, "satisfaction": 4}
    )

    assert response.status_code == 409
    assert not Feedback.objects.exists()


@pytest.mark.parametrize(
    ("change", "attr"),
    [
        ({"satisfaction": 0}, "satisfaction"),
        ({"satisfaction": 6}, "satisfaction"),
        ({"satisfaction": "great"}, "satisfaction"),
        ({"satisfaction": None}, "satisfaction"),
        ({"comments": "x" * 5001}, "comments"),
        ({"respondent": "participant"}, "respondent"),
        ({"activity": 999999}, "activity"),
    ],
)
def test_it_answers_bad_feedback_with_field_errors(api_as, partner, action, change, attr):
    body = {"activity": first_activity(action).pk, "satisfaction": 4, **change}

    response = api_as(partner).post(FEEDBACK, body)

    assert response.status_code == 400, response.content
    assert attr in errors(response), errors(response)
    assert not Feedback.objects.exists()


def test_it_filters_feedback(staff_api, world):
    w = world
    own_action = w.indicator.action_id

    assert set(ids(staff_api.get(FEEDBACK, {"action": own_action}))) == {
        w.partner_feedback.pk,
        w.participant_feedback.pk,
    }
    assert set(ids(staff_api.get(FEEDBACK, {"respondent": "partner"}))) == {
        w.partner_feedback.pk,
        w.other_feedback.pk,
    }
    assert ids(staff_api.get(FEEDBACK, {"activity": w.other_link.activity_id})) == [
        w.other_feedback.pk
    ]
    assert ids(staff_api.get(FEEDBACK, {"respondent": "participant"})) == [
        w.participant_feedback.pk
    ]


# --- feedback links -----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["staff", "approver"])
def test_it_makes_feedback_links_for_staff(api_as, users, action, who):
    activity = first_activity(action)

    response = api_as(users[who]).post(LINKS, {"activity": activity.pk, "count": 3})

    assert response.status_code == 201, response.content
    links = response.json()
    assert len(links) == 3 == FeedbackLink.objects.filter(activity=activity).count()
    for link in links:
        stored = FeedbackLink.objects.get(pk=link["id"])
        assert link["token"] == stored.token
        assert link["url"] == f"http://testserver/evaluations/feedback/{stored.token}/"
        assert (link["activity"], link["action"], link["used_at"]) == (
            activity.pk,
            action.pk,
            None,
        )
        assert stored.created_by == users[who]
    assert len({link["token"] for link in links}) == 3


@pytest.mark.parametrize("who", ["partner", "partner2", "expert", "evaluator", "evaluator2"])
def test_it_keeps_feedback_links_from_everyone_but_staff(api_as, users, world, who):
    api = api_as(users[who])
    before = FeedbackLink.objects.count()

    listed = api.get(LINKS)
    made = api.post(LINKS, {"activity": world.link.activity_id, "count": 2})

    assert listed.status_code == 403
    assert made.status_code == 403
    assert errors(made) == {None: ["Only programme staff manage feedback links."]}
    assert world.link.token not in listed.content.decode()
    assert FeedbackLink.objects.count() == before


def test_it_lists_feedback_links_by_activity(staff_api, world):
    more = services.feedback_links_create(
        activity_id=world.link.activity_id, by=world.link.created_by, count=2
    )

    own = staff_api.get(LINKS, {"activity": world.link.activity_id})
    unused = staff_api.get(LINKS, {"activity": world.link.activity_id, "used": "false"})

    assert ids(own) == [world.link.pk, *(link.pk for link in more)]
    assert own.json()["results"][0]["used_at"] is not None  # answered in ``world``
    assert ids(unused) == [link.pk for link in more]
    assert set(ids(staff_api.get(LINKS))) == {world.link.pk, world.other_link.pk} | {
        link.pk for link in more
    }


@pytest.mark.parametrize(
    ("body", "attr"),
    [
        ({"count": 0}, "count"),
        ({"count": 201}, "count"),
        ({"count": "some"}, "count"),
        ({"count": None}, "count"),
        ({"activity": 999999}, "activity"),
        ({"respondent": "partner"}, "respondent"),
    ],
)
def test_it_answers_bad_link_requests_with_field_errors(staff_api, action, body, attr):
    response = staff_api.post(LINKS, {"activity": first_activity(action).pk, "count": 2, **body})

    assert response.status_code == 400, response.content
    assert attr in errors(response), errors(response)
    assert not FeedbackLink.objects.exists()


def test_it_makes_links_only_for_running_or_finished_actions(staff_api, partner, staff, approver):
    signed = running_action(partner, staff, approver, state="signed")

    response = staff_api.post(LINKS, {"activity": first_activity(signed).pk, "count": 2})

    assert response.status_code == 409
    assert not FeedbackLink.objects.exists()


# --- final evaluations: writing -----------------------------------------------------------


@pytest.fixture
def fresh_action(partner: Any, staff: Any, approver: Any, evaluator: Any) -> Action:
    """A running action of ``partner`` with ``evaluator`` assigned and no evaluation yet."""
    return running_action(partner, staff, approver, evaluator=evaluator)


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("evaluator", 201),
        ("staff", 403),  # sees the action; only its evaluator writes the evaluation
        ("approver", 403),
        ("partner", 403),
        ("partner2", 400),  # an action they cannot see cannot be named
        ("expert", 400),
        ("evaluator2", 400),
    ],
)
def test_it_lets_the_assigned_evaluator_start_the_evaluation(
    api_as, users, fresh_action, who, code
):
    body = {
        "action": fresh_action.pk,
        "relevance": 3,
        "relevance_justification": "Asked for by the ministry.",
        "recommendations": ["Train trainers.", "  ", "Share the SOPs."],
    }

    response = api_as(users[who]).post(EVALUATIONS, body)

    assert response.status_code == code, response.content
    if code == 201:
        data = response.json()
        evaluation = FinalEvaluation.objects.get(pk=data["id"])
        assert (evaluation.action_id, evaluation.created_by) == (fresh_action.pk, users[who])
        assert (data["action"], data["status"], data["relevance"], data["coherence"]) == (
            fresh_action.pk,
            "draft",
            3,
            None,
        )
        assert data["relevance_justification"] == "Asked for by the ministry."
        assert [(r["text"], r["follow_up_request"]) for r in data["recommendations"]] == [
            ("Train trainers.", None),
            ("Share the SOPs.", None),
        ]
        assert all(isinstance(r["id"], int) for r in data["recommendations"])
        # The action is not completed yet: nothing to submit.
        assert (data["submitted_at"], data["submitted_by"], data["allowed_transitions"]) == (
            None,
            None,
            [],
        )
    else:
        assert not FinalEvaluation.objects.exists()
    if code == 400:
        assert list(errors(response)) == ["action"]


def test_it_keeps_one_evaluation_per_action(evaluator_api, world):
    response = evaluator_api.post(
        EVALUATIONS, {"action": world.evaluation.action_id, "findings": "Second go."}
    )

    assert response.status_code == 409
    assert FinalEvaluation.objects.filter(action_id=world.evaluation.action_id).count() == 1
    assert FinalEvaluation.objects.get(pk=world.evaluation.pk).findings != "Second go."


@pytest.mark.parametrize(
    ("change", "attr"),
    [
        ({"relevance": 5}, "relevance"),
        ({"impact": 0}, "impact"),
        ({"efficiency": "high"}, "efficiency"),
        ({"recommendations": "Train trainers."}, "recommendations"),
        ({"recommendations": [f"Idea {i}" for i in range(51)]}, "recommendations"),
        ({"status": "submitted"}, "status"),
        ({"score": 10}, "score"),
        ({"action": None}, "action"),
    ],
)
def test_it_answers_bad_evaluations_with_field_errors(evaluator_api, fresh_action, change, attr):
    body = {"action": fresh_action.pk, "relevance": 3, **change}

    response = evaluator_api.post(EVALUATIONS, body)

    assert response.status_code == 400, response.content
    assert attr in errors(response), errors(response)
    assert not FinalEvaluation.objects.exists()
    assert not Recommendation.objects.exists()


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("evaluator", 200),
        ("staff", 403),
        ("approver", 403),
        ("partner", 404),  # a draft is not the partner's to read
        ("partner2", 404),
        ("expert", 404),
        ("evaluator2", 404),
    ],
)
def test_it_lets_the_assigned_evaluator_change_the_draft(api_as, users, world, who, code):
    response = api_as(users[who]).patch(
        url(EVALUATIONS, world.evaluation),
        {"impact": 3, "lessons": "Start with the law.", "recommendations": ["One only."]},
    )

    assert response.status_code == code, response.content
    evaluation = FinalEvaluation.objects.get(pk=world.evaluation.pk)
    if code == 200:
        data = response.json()
        assert (data["impact"], data["lessons"], data["relevance"]) == (
            3,
            "Start with the law.",
            3,  # untouched
        )
        assert [r["text"] for r in data["recommendations"]] == ["One only."]
        assert evaluation.impact == 3
    else:
        assert evaluation.impact == 2
        assert evaluation.recommendations.count() == 2


def test_it_keeps_the_recommendations_unless_sent(evaluator_api, world):
    response = evaluator_api.patch(url(EVALUATIONS, world.evaluation), {"findings": "Updated."})

    assert response.status_code == 200
    assert [r["text"] for r in response.json()["recommendations"]] == list(
        COMPLETE_EVALUATION["recommendations"]
    )


def test_it_keeps_an_evaluation_with_its_action(evaluator_api, world, fresh_action):
    response = evaluator_api.patch(
        url(EVALUATIONS, world.evaluation), {"action": fresh_action.pk, "impact": 4}
    )

    assert response.status_code == 400
    assert list(errors(response)) == ["action"]
    assert FinalEvaluation.objects.get(pk=world.evaluation.pk).impact == 2


def test_it_does_not_take_put_or_delete_on_evaluations(evaluator_api, world):
    target = url(EVALUATIONS, world.evaluation)

    assert evaluator_api.put(target, {"impact": 4}).status_code == 405
    assert evaluator_api.delete(target).status_code == 405
    assert FinalEvaluation.objects.filter(pk=world.evaluation.pk).exists()


def test_it_refuses_an_evaluator_who_worked_on_the_action_as_expert(
    evaluator_api, fresh_action, evaluator, staff
):
    from tests.experts.builders import deployment_in, first_need, make_expert

    # The same person's expert profile (matched by email address).
    profile = make_expert(by=staff, email=evaluator.email)
    deployment_in("accepted", first_need(fresh_action), profile, staff=staff)

    response = evaluator_api.post(EVALUATIONS, {"action": fresh_action.pk, "relevance": 3})

    assert response.status_code == 403
    assert "conflict of interest" in errors(response)[None][0]
    assert not FinalEvaluation.objects.exists()


# --- final evaluations: submit ------------------------------------------------------------


def complete(action: Action, staff: Any) -> None:
    action_services.action_transition(action_id=action.pk, name="complete", by=staff, text="")


def test_it_submits_a_complete_evaluation_of_a_completed_action(
    api_as, evaluator_api, world, staff, partner, partner2, evaluator
):
    complete(world.evaluation.action, staff)
    listed = evaluator_api.get(EVALUATIONS, {"action": world.evaluation.action_id}).json()
    assert listed["results"][0]["allowed_transitions"] == ["submit"]

    response = evaluator_api.post(
        url(EVALUATIONS, world.evaluation, "submit"), {"comment": "Final version."}
    )

    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["status"], data["submitted_by"], data["allowed_transitions"]) == (
        "submitted",
        evaluator.display_name,
        [],
    )
    assert data["submitted_at"] is not None
    # Now the partner reads it; the other organisation still does not.
    assert ids(api_as(partner).get(EVALUATIONS)) == [world.evaluation.pk]
    assert api_as(partner).get(url(EVALUATIONS, world.evaluation)).status_code == 200
    assert api_as(partner2).get(url(EVALUATIONS, world.evaluation)).status_code == 404
    # ... and staff may close the action (the loop of DESIGN.md §2).
    closed = api_as(staff).post(f"/api/v1/actions/{world.evaluation.action_id}/close/")
    assert closed.status_code == 200, closed.content
    assert closed.json()["status"] == "closed"


def test_it_refuses_to_submit_before_the_action_is_completed(evaluator_api, world):
    response = evaluator_api.post(url(EVALUATIONS, world.evaluation, "submit"))

    assert response.status_code == 409
    assert errors(response) == {
        None: ["The final evaluation can be submitted once the action is completed."]
    }
    assert FinalEvaluation.objects.get(pk=world.evaluation.pk).status == "draft"


def test_it_refuses_to_submit_an_incomplete_evaluation(evaluator_api, world, staff):
    complete(world.evaluation.action, staff)
    services.evaluation_save(
        action_id=world.evaluation.action_id,
        by=world.evaluation.created_by,
        data={"sustainability": None, "lessons": ""},
    )

    response = evaluator_api.post(url(EVALUATIONS, world.evaluation, "submit"))

    assert response.status_code == 409
    message = errors(response)[None][0]
    assert "Rate sustainability from 1 to 4." in message
    assert "Write the lessons learned." in message
    assert FinalEvaluation.objects.get(pk=world.evaluation.pk).status == "draft"


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("staff", 403),
        ("approver", 403),
        ("partner", 404),
        ("partner2", 404),
        ("expert", 404),
        ("evaluator2", 404),
    ],
)
def test_it_lets_only_the_assigned_evaluator_submit(api_as, users, world, staff, who, code):
    complete(world.evaluation.action, staff)

    response = api_as(users[who]).post(url(EVALUATIONS, world.evaluation, "submit"))

    assert response.status_code == code, response.content
    assert FinalEvaluation.objects.get(pk=world.evaluation.pk).status == "draft"


def test_it_freezes_a_submitted_evaluation(evaluator_api, world, staff):
    complete(world.evaluation.action, staff)
    assert evaluator_api.post(url(EVALUATIONS, world.evaluation, "submit")).status_code == 200

    again = evaluator_api.post(url(EVALUATIONS, world.evaluation, "submit"))
    changed = evaluator_api.patch(url(EVALUATIONS, world.evaluation), {"impact": 4})

    assert again.status_code == 409
    assert changed.status_code == 409
    assert FinalEvaluation.objects.get(pk=world.evaluation.pk).impact == 2


def test_it_refuses_a_bad_transition_body(evaluator_api, world):
    response = evaluator_api.post(url(EVALUATIONS, world.evaluation, "submit"), {"note": "x"})

    assert response.status_code == 400
    assert list(errors(response)) == ["note"]


def test_it_filters_evaluations(staff_api, world, staff):
    complete(world.evaluation.action, staff)
    services.evaluation_submit(evaluation_id=world.evaluation.pk, by=world.evaluation.created_by)

    assert ids(staff_api.get(EVALUATIONS, {"status": "submitted"})) == [world.evaluation.pk]
    assert ids(staff_api.get(EVALUATIONS, {"status": "draft"})) == [world.other_evaluation.pk]
    assert ids(staff_api.get(EVALUATIONS, {"action": world.other_evaluation.action_id})) == [
        world.other_evaluation.pk
    ]


# --- final evaluations: follow-up requests ------------------------------------------------


@pytest.fixture
def submitted(world: World, staff: Any, approver: Any, partner: Any, evaluator: Any) -> Any:
    return submitted_evaluation(
        world.evaluation.action, evaluator, staff=staff, approver=approver, partner=partner
    )


def follow_up_url(evaluation: Any, recommendation: Any) -> str:
    pk = recommendation if isinstance(recommendation, int) else recommendation.pk
    return url(EVALUATIONS, evaluation, f"recommendations/{pk}/follow-up")


@pytest.mark.parametrize("who", ["staff", "approver"])
def test_it_opens_a_follow_up_request_from_a_recommendation(api_as, users, submitted, partner, who):
    recommendation = submitted.recommendations.order_by("position").first()

    response = api_as(users[who]).post(follow_up_url(submitted, recommendation))

    assert response.status_code == 201, response.content
    data = response.json()
    opened = AssistanceRequest.objects.get(pk=data["request"])
    assert data == {
        "request": opened.pk,
        "reference": None,
        "url": f"/api/v1/requests/{opened.pk}/",
    }
    assert response["Location"] == data["url"]
    assert (opened.status, opened.organisation_id) == ("draft", partner.organisation_id)
    assert opened.title == recommendation.text
    read = api_as(users[who]).get(url(EVALUATIONS, submitted)).json()["recommendations"]
    assert read[0] == {
        "id": recommendation.pk,
        "text": recommendation.text,
        "follow_up_request": opened.pk,
    }
    # The partner finds the draft among its requests.
    assert api_as(partner).get(data["url"]).status_code == 200


def test_it_opens_one_follow_up_per_recommendation(staff_api, submitted):
    recommendation = submitted.recommendations.first()

    assert staff_api.post(follow_up_url(submitted, recommendation)).status_code == 201
    again = staff_api.post(follow_up_url(submitted, recommendation))

    assert again.status_code == 409
    assert Recommendation.objects.exclude(follow_up_request=None).count() == 1
    assert AssistanceRequest.objects.filter(status="draft").count() == 1


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("partner", 403),  # reads the submitted evaluation; staff open requests from it
        ("evaluator", 403),
        ("partner2", 404),
        ("expert", 404),
        ("evaluator2", 404),
    ],
)
def test_it_lets_only_staff_open_follow_ups(api_as, users, submitted, who, code):
    drafts = AssistanceRequest.objects.filter(status="draft").count()

    response = api_as(users[who]).post(follow_up_url(submitted, submitted.recommendations.first()))

    assert response.status_code == code, response.content
    assert AssistanceRequest.objects.filter(status="draft").count() == drafts
    assert not Recommendation.objects.exclude(follow_up_request=None).exists()


def test_it_opens_follow_ups_only_from_submitted_evaluations(staff_api, world):
    response = staff_api.post(
        follow_up_url(world.evaluation, world.evaluation.recommendations.first())
    )

    assert response.status_code == 409
    assert not Recommendation.objects.exclude(follow_up_request=None).exists()


def test_it_answers_404_for_a_recommendation_of_another_evaluation(staff_api, submitted, world):
    foreign = world.other_evaluation.recommendations.first()

    assert staff_api.post(follow_up_url(submitted, foreign)).status_code == 404
    assert staff_api.post(follow_up_url(submitted, 999999)).status_code == 404
    assert not Recommendation.objects.exclude(follow_up_request=None).exists()


# --- exports ------------------------------------------------------------------------------


def csv_rows(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].endswith(f'-{today()}.csv"')
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def xlsx_rows(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    header, *body = list(workbook.worksheets[0].iter_rows(values_only=True))
    return [dict(zip(header, row, strict=True)) for row in body]


@pytest.fixture
def history(world: World, evaluator: Any) -> dict[str, Any]:
    """``world`` plus a second measurement of its indicator and an unmeasured indicator."""
    return {
        "newer": measure(world.indicator, evaluator, "44", days_ago=2, note="=SUM(A1)"),
        "unmeasured": make_indicator(
            world.indicator.action,
            evaluator,
            name="Decree adopted",
            unit="yes_no",
            baseline="0",
            target="1",
        ),
    }


def test_it_exports_indicators_one_row_per_measurement_as_csv(staff_api, world, history):
    rows = csv_rows(staff_api.get(f"{INDICATORS}export/", {"file": "csv"}))

    by_indicator: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_indicator.setdefault(row["Indicator"], []).append(row)
    assert sorted((name, len(items)) for name, items in by_indicator.items()) == [
        ("Cases processed on time", 1),
        ("Decree adopted", 1),
        ("Share of border posts applying the SOPs", 2),
    ]
    newer, older = by_indicator["Share of border posts applying the SOPs"]
    assert (newer["Measurement date"], newer["Value"], newer["Note"]) == (
        days_ago(2).isoformat(),
        "44.00",
        "'=SUM(A1)",  # a formula is defused
    )
    assert (older["Value"], older["Recorded by"]) == (
        "30.00",
        world.measurement.recorded_by.display_name,
    )
    assert newer["Action reference"] == world.indicator.action.reference
    assert (newer["Baseline"], newer["Target"], newer["Unit"]) == ("20.00", "60.00", "Percentage")
    unmeasured = by_indicator["Decree adopted"][0]
    assert (unmeasured["Measurement date"], unmeasured["Value"], unmeasured["Progress"]) == (
        "",
        "",
        "Not measured yet",
    )


def test_it_exports_indicators_as_xlsx_with_typed_cells(staff_api, world, history):
    rows = xlsx_rows(
        staff_api.get(f"{INDICATORS}export/", {"file": "xlsx", "action": world.indicator.action_id})
    )

    assert len(rows) == 3
    measured = [r for r in rows if r["Value"] is not None]
    assert sorted(r["Value"] for r in measured) == [30, 44]
    assert {r["Measurement date"].date() for r in measured} == {days_ago(10), days_ago(2)}
    assert {r["Indicator"] for r in rows} == {
        "Share of border posts applying the SOPs",
        "Decree adopted",
    }


@pytest.mark.parametrize(
    ("params", "expected_names"),
    [
        ({"action": "own"}, {"Share of border posts applying the SOPs", "Decree adopted"}),
        ({"progress_status": "not_measured"}, {"Decree adopted"}),
        ({"unit": "percentage", "search": "cases"}, {"Cases processed on time"}),
    ],
)
def test_it_exports_only_the_filtered_indicators(staff_api, world, history, params, expected_names):
    if params.get("action") == "own":
        params = {"action": world.indicator.action_id}

    rows = csv_rows(staff_api.get(f"{INDICATORS}export/", {"file": "csv", **params}))

    assert {row["Indicator"] for row in rows} == expected_names


@pytest.mark.parametrize(
    ("who", "expected_names"),
    [
        ("partner2", {"Cases processed on time"}),
        ("partner", {"Share of border posts applying the SOPs", "Decree adopted"}),
        ("evaluator", {"Share of border posts applying the SOPs", "Decree adopted"}),
        ("evaluator2", set()),
        ("expert", set()),
    ],
)
def test_it_exports_only_the_indicators_the_user_may_see(
    api_as, users, world, history, who, expected_names
):
    api = api_as(users[who])

    rows = csv_rows(api.get(f"{INDICATORS}export/", {"file": "csv"}))
    # Naming another organisation's action in the filter is refused, not silently empty.
    foreign = api.get(
        f"{INDICATORS}export/", {"file": "csv", "action": world.other_indicator.action_id}
    )

    assert {row["Indicator"] for row in rows} == expected_names
    if who != "partner2":
        assert foreign.status_code == 400
        assert list(errors(foreign)) == ["action"]


@pytest.mark.parametrize("path", [INDICATORS, EVALUATIONS])
@pytest.mark.parametrize("params", [{"file": "pdf"}, {}, {"file": ""}])
def test_it_refuses_an_unknown_export_format(staff_api, world, path, params):
    response = staff_api.get(f"{path}export/", params)

    assert response.status_code == 400
    assert list(errors(response)) == ["file"]


def test_it_exports_evaluations_as_csv_and_xlsx(api_as, staff_api, world, staff, partner):
    complete(world.evaluation.action, staff)
    services.evaluation_submit(evaluation_id=world.evaluation.pk, by=world.evaluation.created_by)

    rows = csv_rows(staff_api.get(f"{EVALUATIONS}export/", {"file": "csv"}))
    sheet = xlsx_rows(staff_api.get(f"{EVALUATIONS}export/", {"file": "xlsx"}))

    by_reference = {row["Action reference"]: row for row in rows}
    own = by_reference[world.evaluation.action.reference]
    assert set(by_reference) == {
        world.evaluation.action.reference,
        world.other_evaluation.action.reference,
    }
    assert (own["Status"], own["Relevance"], own["Impact"], own["Sustainability"]) == (
        "Submitted",
        "3",
        "2",
        "4",
    )
    assert own["Recommendations"] == "Train regional trainers.; Extend the SOPs to airports."
    assert own["Submitted by"] == world.evaluation.created_by.display_name
    assert by_reference[world.other_evaluation.action.reference]["Status"] == "Draft"
    assert sorted((r["Action reference"], r["Relevance"]) for r in sheet) == sorted(
        (r["Action reference"], int(r["Relevance"])) for r in rows
    )
    # The partner downloads its submitted evaluation only; filters apply.
    mine = csv_rows(api_as(partner).get(f"{EVALUATIONS}export/", {"file": "csv"}))
    assert [row["Action reference"] for row in mine] == [world.evaluation.action.reference]
    drafts = csv_rows(staff_api.get(f"{EVALUATIONS}export/", {"file": "csv", "status": "draft"}))
    assert [row["Action reference"] for row in drafts] == [world.other_evaluation.action.reference]


@pytest.mark.parametrize(
    ("who", "count"),
    [("evaluator", 1), ("partner", 0), ("partner2", 0), ("expert", 0), ("evaluator2", 0)],
)
def test_it_exports_only_the_evaluations_the_user_may_see(api_as, users, world, who, count):
    rows = csv_rows(api_as(users[who]).get(f"{EVALUATIONS}export/", {"file": "csv"}))

    assert len(rows) == count
    if count:
        assert rows[0]["Action reference"] == world.evaluation.action.reference


# --- query counts -------------------------------------------------------------------------


def queries(api: APIClient, path: str, params: dict[str, Any]) -> tuple[int, int]:
    """(queries, rows) of one GET, the streamed body included."""
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(path, {"page_size": 200, **params})
        body = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == 200, body[:500]
    if params.get("file") == "csv":
        rows = len(list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))) - 1
    elif params.get("file") == "xlsx":
        sheet = load_workbook(io.BytesIO(body), read_only=True).worksheets[0]
        rows = sum(1 for _row in sheet.iter_rows()) - 1
    else:
        rows = response.json()["count"]
    return len(ctx.captured_queries), rows


def grow(kind: str, n: int, w: World, u: dict[str, Any], staff: Any, approver: Any) -> None:
    """Add ``n`` more of ``kind`` on both actions (and what they hang on)."""
    evaluator = u["evaluator"]
    for i in range(n):
        if kind in ("indicators", "measurements"):
            for action, by in ((w.indicator.action, evaluator), (w.other_indicator.action, staff)):
                indicator = make_indicator(action, by, name=f"Indicator {i}")
                measure(indicator, by, "25", days_ago=3, note="first")
                measure(indicator, by, "35", days_ago=1, note="second")
        elif kind == "outcomes":
            for action in (w.indicator.action, w.other_indicator.action):
                services.outcome_record(
                    action_id=action.pk,
                    by=staff,
                    data={"level": "individual", "description": f"Change {i}", "date": days_ago(2)},
                )
        elif kind in ("feedback", "feedback-links"):
            for activity_id in (w.link.activity_id, w.other_link.activity_id):
                link = services.feedback_links_create(activity_id=activity_id, by=staff, count=1)[0]
                services.feedback_submit_by_link(token=link.token, data={"satisfaction": 3})
        elif kind == "evaluations":
            done = running_action(
                u["partner"], staff, approver, evaluator=evaluator, state="completed"
            )
            evaluation = complete_evaluation(done, evaluator)
            services.evaluation_submit(evaluation_id=evaluation.pk, by=evaluator)


CSV, XLSX = {"file": "csv"}, {"file": "xlsx"}
LISTS = [
    ("indicators", INDICATORS, {}, "staff"),
    ("indicators", INDICATORS, {}, "evaluator"),
    ("indicators", INDICATORS, {}, "partner"),
    ("indicators", f"{INDICATORS}export/", CSV, "staff"),
    ("indicators", f"{INDICATORS}export/", XLSX, "partner"),
    ("measurements", MEASUREMENTS, {}, "staff"),
    ("measurements", MEASUREMENTS, {}, "evaluator"),
    ("measurements", MEASUREMENTS, {}, "partner2"),
    ("outcomes", OUTCOMES, {}, "staff"),
    ("outcomes", OUTCOMES, {}, "partner"),
    ("feedback", FEEDBACK, {}, "staff"),
    ("feedback", FEEDBACK, {}, "evaluator"),
    ("feedback-links", LINKS, {}, "staff"),
    ("evaluations", EVALUATIONS, {}, "staff"),
    ("evaluations", EVALUATIONS, {}, "evaluator"),
    ("evaluations", EVALUATIONS, {}, "partner"),
    ("evaluations", f"{EVALUATIONS}export/", CSV, "evaluator"),
    ("evaluations", f"{EVALUATIONS}export/", XLSX, "staff"),
]


@pytest.mark.parametrize(("kind", "path", "params", "who"), LISTS)
def test_it_lists_in_a_constant_number_of_queries(
    api_as, users, world, staff, approver, kind, path, params, who
):
    api = api_as(users[who])
    grow(kind, 1, world, users, staff, approver)
    queries(api, path, params)  # warm the per-process caches
    small, small_rows = queries(api, path, params)

    grow(kind, 3, world, users, staff, approver)
    large, large_rows = queries(api, path, params)

    assert large_rows > small_rows, (small_rows, large_rows)
    assert large == small, f"{path} {params} as {who}: {small} queries, then {large}"
    assert small <= 4, small


# --- OpenAPI ------------------------------------------------------------------------------


def test_it_documents_the_monitoring_and_evaluation_api(api, db):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]

    for collection in ("indicators", "measurements", "outcomes", "feedback", "evaluations"):
        assert f"/api/v1/{collection}/" in paths, collection
        assert f"/api/v1/{collection}/{{id}}/" in paths, collection
    assert set(paths["/api/v1/indicators/{id}/"]) >= {"get", "patch", "delete"}
    assert "put" not in paths["/api/v1/indicators/{id}/"]
    assert set(paths["/api/v1/feedback-links/"]) == {"get", "post"}
    submit = paths["/api/v1/evaluations/{id}/submit/"]["post"]["responses"]
    assert {"200", "403", "404", "409"} <= set(submit)
    follow_up = "/api/v1/evaluations/{id}/recommendations/{recommendation_id}/follow-up/"
    assert {"201", "403", "404", "409"} <= set(paths[follow_up]["post"]["responses"])
    for collection in ("indicators", "evaluations"):
        export = paths[f"/api/v1/{collection}/export/"]["get"]
        assert any(p["name"] == "file" for p in export["parameters"]), collection
    measurement = paths["/api/v1/measurements/"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(measurement)
    assert "multipart/form-data" in paths["/api/v1/outcomes/"]["post"]["requestBody"]["content"]


@pytest.mark.parametrize("path", [MEASUREMENTS, OUTCOMES, FEEDBACK])
@pytest.mark.parametrize("pk", ["abc", "null", "1,2", "true"])
def test_it_answers_a_malformed_id_with_404(staff_api, path, pk):
    # Found by .ci/fuzz-api: the lookup turned "abc" into int() and answered 500.
    for response in (staff_api.get(f"{path}{pk}/"), staff_api.delete(f"{path}{pk}/")):
        if response.status_code == 405:  # feedback cannot be deleted
            continue
        assert response.status_code == 404, response.content
        assert response.json()["errors"][0]["code"] == "not_found"
