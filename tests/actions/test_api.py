"""The actions API: actions, activities, expertise needs, transitions and amendments
(DESIGN.md §2 and §5; issue 4 "API" and "Bad input").

Error bodies are ``{"type", "errors": [{"code", "detail", "attr"}]}``; ``errors(response)``
checks that shape and returns ``{attr: [detail, ...]}``.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from actions.models import Action, Activity, Amendment, ExpertiseNeed
from cbportal.core.models import TransitionEvent
from tests.actions.api_helpers import (
    ACTIONS,
    ACTIVITIES,
    NEEDS,
    REASON,
    SIGNATORY,
    errors,
    make_action,
    make_amendment,
    make_assessment,
    partner_in,
)

# --- helpers ------------------------------------------------------------------------------


@pytest.fixture
def staff_api(api_as: Any, staff: Any) -> Any:
    return api_as(staff)


@pytest.fixture
def approver2(db: Any) -> Any:
    from tests.factories import UserFactory

    return UserFactory(username="approver2", approver=True)


def action_body(assessment: Any, **extra: Any) -> dict[str, Any]:
    start = timezone.localdate() + timedelta(days=40)
    return {
        "assessment": assessment.pk,
        "title": "Labour migration information system",
        "start_date": start.isoformat(),
        "end_date": (start + timedelta(days=120)).isoformat(),
        "objectives": [
            {"text": "Analysts run the register", "gaps": [assessment.gaps.first().pk]},
        ],
        **extra,
    }


def activity_body(action: Any, **extra: Any) -> dict[str, Any]:
    day = (action.start_date + timedelta(days=10)).isoformat()
    return {
        "action": action.pk,
        "type": "study_visit",
        "title": "Study visit to a peer register",
        "start_date": day,
        "end_date": day,
        "modality": "onsite",
        "country": "TN",
        "city": "Tunis",
        "expected_participants": 12,
        "participants_women": 6,
        "participants_men": 5,
        "participants_other": 1,
        "objectives": [action.objectives.first().pk],
        **extra,
    }


def need_body(activity: Any, **extra: Any) -> dict[str, Any]:
    return {
        "activity": activity.pk,
        "thematic_area": "data",
        "skills": ["data protection", "statistics"],
        "languages": ["fr", "ar"],
        "experts_needed": 2,
        "expert_days": 6,
        "origin_preference": "eu_member_state",
        **extra,
    }


def fire(api: Any, action: Any, name: str, **body: Any) -> Any:
    return api.post(f"{ACTIONS}{action.pk}/{name}/", body)


def status_of(action: Any) -> str:
    return Action.objects.values_list("status", flat=True).get(pk=action.pk)


# --- creating an action -------------------------------------------------------------------


def test_it_creates_an_action_from_a_validated_assessment(staff_api, validated_assessment, partner):
    body = action_body(validated_assessment)
    response = staff_api.post(ACTIONS, body)

    assert response.status_code == 201, response.json()
    data = response.json()
    assert re.fullmatch(rf"ACT-{timezone.localdate().year}-\d{{4}}", data["reference"])
    assert data["status"] == "design"
    # An action whose plan has no activity yet cannot be proposed; it can be cancelled.
    assert data["allowed_transitions"] == ["cancel"]
    assert (data["start_date"], data["end_date"]) == (body["start_date"], body["end_date"])
    assert data["organisation"] == partner.organisation_id
    assert data["request"] == validated_assessment.request_id
    assert data["country"] == "TN"
    assert data["thematic_areas"] == ["labour-migration"]  # prefilled from the request
    assert [(o["text"], o["gaps"]) for o in data["objective_list"]] == [
        ("Analysts run the register", body["objectives"][0]["gaps"])
    ]
    assert Action.objects.get().reference == data["reference"]


def test_it_numbers_actions_in_sequence(staff_api, validated_assessment, partner, staff):
    other = make_assessment(partner, staff)
    first = staff_api.post(ACTIONS, action_body(validated_assessment)).json()["reference"]
    second = staff_api.post(ACTIONS, action_body(other)).json()["reference"]
    assert int(second[-4:]) == int(first[-4:]) + 1


@pytest.mark.parametrize("state", ["in_progress", "shared"])
def test_it_refuses_an_assessment_the_partner_has_not_validated(staff_api, partner, staff, state):
    assessment = make_assessment(partner, staff, state=state)

    response = staff_api.post(ACTIONS, action_body(assessment))

    assert response.status_code == 409
    assert "validated" in errors(response)[None][0]
    assert not Action.objects.exists()


def test_it_refuses_a_second_action_for_one_assessment(staff_api, validated_assessment):
    assert staff_api.post(ACTIONS, action_body(validated_assessment)).status_code == 201

    response = staff_api.post(ACTIONS, action_body(validated_assessment, title="Again"))

    assert response.status_code == 409
    assert "already has its action" in errors(response)[None][0]
    assert Action.objects.count() == 1


def test_it_refuses_an_objective_that_closes_no_gap(staff_api, validated_assessment):
    body = action_body(validated_assessment, objectives=[{"text": "Something", "gaps": []}])

    response = staff_api.post(ACTIONS, body)

    assert response.status_code == 400
    assert list(errors(response)) == ["objectives.0.gaps"]
    assert not Action.objects.exists()


def test_it_refuses_an_objective_linked_to_a_gap_of_another_assessment(
    staff_api, validated_assessment, partner, staff
):
    foreign_gap = make_assessment(partner, staff).gaps.first().pk
    body = action_body(validated_assessment, objectives=[{"text": "X", "gaps": [foreign_gap]}])

    response = staff_api.post(ACTIONS, body)

    assert response.status_code == 400
    assert list(errors(response)) == ["gaps"]
    # The action and its objective are created in one transaction: nothing is left behind.
    assert not Action.objects.exists()


@pytest.mark.parametrize(
    ("field", "detail"),
    [("tittle", "Unknown field."), ("status", "This field is read-only.")],
)
def test_it_refuses_fields_it_does_not_accept(staff_api, validated_assessment, field, detail):
    response = staff_api.post(ACTIONS, action_body(validated_assessment, **{field: "x"}))

    assert response.status_code == 400
    assert errors(response) == {field: [detail]}
    assert not Action.objects.exists()


def test_it_refuses_a_period_that_ends_before_it_starts(staff_api, validated_assessment):
    body = action_body(validated_assessment, start_date="2031-05-01", end_date="2031-04-01")

    response = staff_api.post(ACTIONS, body)

    assert response.status_code == 400
    assert "end_date" in errors(response)


def test_it_lets_staff_change_the_title_and_assign_evaluators(
    staff_api, designed_action, evaluator
):
    response = staff_api.patch(
        f"{ACTIONS}{designed_action.pk}/", {"title": "Renamed", "evaluators": [evaluator.pk]}
    )

    assert response.status_code == 200, response.json()
    assert response.json()["title"] == "Renamed"
    assert response.json()["evaluators"] == [evaluator.pk]


def test_it_refuses_a_user_who_is_not_an_evaluator_as_evaluator(staff_api, designed_action, expert):
    response = staff_api.patch(f"{ACTIONS}{designed_action.pk}/", {"evaluators": [expert.pk]})

    assert response.status_code == 400
    assert "evaluators" in errors(response)


# --- activities ---------------------------------------------------------------------------


def test_it_adds_an_activity_inside_the_action_period(staff_api, designed_action):
    body = activity_body(designed_action)

    response = staff_api.post(ACTIVITIES, body)

    assert response.status_code == 201, response.json()
    data = response.json()
    for field in (
        "action",
        "type",
        "title",
        "start_date",
        "end_date",
        "modality",
        "country",
        "city",
        "expected_participants",
        "participants_women",
        "participants_men",
        "participants_other",
        "objectives",
    ):
        assert data[field] == body[field], field
    assert data["status"] == "planned"
    listed = staff_api.get(ACTIVITIES, {"action": designed_action.pk}).json()["results"]
    assert data["id"] in [a["id"] for a in listed]


@pytest.mark.parametrize(
    ("field", "shift"),
    [("start_date", -1), ("end_date", +1)],
    ids=["starts-before-the-action", "ends-after-the-action"],
)
def test_it_refuses_activity_dates_outside_the_action_period(
    staff_api, designed_action, field, shift
):
    action = designed_action
    if field == "start_date":
        start = action.start_date + timedelta(days=shift)
        body = activity_body(action, start_date=start.isoformat(), end_date=start.isoformat())
    else:
        end = action.end_date + timedelta(days=shift)
        body = activity_body(action, end_date=end.isoformat())

    response = staff_api.post(ACTIVITIES, body)

    assert response.status_code == 400
    assert list(errors(response)) == [field]
    assert Activity.objects.count() == 1


def test_it_refuses_more_women_men_and_other_than_expected_participants(staff_api, designed_action):
    body = activity_body(
        designed_action,
        expected_participants=10,
        participants_women=6,
        participants_men=4,
        participants_other=1,
    )

    response = staff_api.post(ACTIVITIES, body)

    assert response.status_code == 400
    assert "add up to more than" in errors(response)["participants_women"][0]


@pytest.mark.parametrize(
    ("extra", "attr"),
    [
        ({"type": "picnic"}, "type"),
        ({"modality": "telepathy"}, "modality"),
        ({"country": "XX"}, "country"),
        ({"expected_participants": -1}, "expected_participants"),
        ({"objectives": [999999]}, "objectives"),
        ({"start_date": "soon"}, "start_date"),
    ],
)
def test_it_refuses_bad_activity_input_on_its_field(staff_api, designed_action, extra, attr):
    response = staff_api.post(ACTIVITIES, activity_body(designed_action, **extra))

    assert response.status_code == 400
    assert attr in errors(response)


def test_it_changes_and_deletes_an_activity_while_the_action_is_in_design(
    staff_api, designed_action
):
    activity = designed_action.activities.get()
    later = (designed_action.start_date + timedelta(days=20)).isoformat()

    response = staff_api.patch(
        f"{ACTIVITIES}{activity.pk}/", {"title": "Advanced training", "end_date": later}
    )

    assert response.status_code == 200, response.json()
    assert (response.json()["title"], response.json()["end_date"]) == ("Advanced training", later)
    activity.refresh_from_db()
    assert activity.end_date.isoformat() == later
    assert activity.needs.count() == 1  # a change of the activity keeps its needs

    outside = (designed_action.end_date + timedelta(days=1)).isoformat()
    response = staff_api.patch(f"{ACTIVITIES}{activity.pk}/", {"end_date": outside})
    assert response.status_code == 400
    assert list(errors(response)) == ["end_date"]

    assert staff_api.delete(f"{ACTIVITIES}{activity.pk}/").status_code == 204
    assert staff_api.get(f"{ACTIVITIES}{activity.pk}/").status_code == 404
    assert not ExpertiseNeed.objects.exists()


def test_it_refuses_to_move_an_activity_to_another_action(
    staff_api, designed_action, partner, staff
):
    other = make_action(partner, staff)
    activity = designed_action.activities.get()

    response = staff_api.patch(f"{ACTIVITIES}{activity.pk}/", {"action": other.pk})

    assert response.status_code == 400
    assert list(errors(response)) == ["action"]


@pytest.mark.parametrize("method", ["post", "patch", "delete"])
def test_it_refuses_activity_changes_once_the_plan_is_agreed(
    staff_api, partner, staff, approver, method
):
    action = make_action(partner, staff, "approved", approver=approver)
    activity = action.activities.get()
    if method == "post":
        response = staff_api.post(ACTIVITIES, activity_body(action))
    elif method == "patch":
        response = staff_api.patch(f"{ACTIVITIES}{activity.pk}/", {"title": "Renamed"})
    else:
        response = staff_api.delete(f"{ACTIVITIES}{activity.pk}/")

    assert response.status_code == 409
    assert "through an amendment" in errors(response)[None][0]
    assert Activity.objects.get().title == "Training of analysts"


# --- expertise needs ----------------------------------------------------------------------


def test_it_adds_an_expertise_need_to_an_activity(staff_api, designed_action):
    activity = designed_action.activities.get()
    body = need_body(activity)

    response = staff_api.post(NEEDS, body)

    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["activity"] == activity.pk
    assert data["thematic_area"] == "data"
    assert data["skills"] == ["data protection", "statistics"]
    assert data["languages"] == ["ar", "fr"]
    assert (data["experts_needed"], data["expert_days"]) == (2, 6)
    assert data["origin_preference"] == "eu_member_state"
    assert activity.needs.count() == 2


@pytest.mark.parametrize(
    ("extra", "attr"),
    [
        ({"experts_needed": 0}, "experts_needed"),
        ({"experts_needed": -1}, "experts_needed"),
        ({"expert_days": 0}, "expert_days"),
        ({"languages": ["xx"]}, "languages"),
        ({"thematic_area": "astrology"}, "thematic_area"),
        ({"origin_preference": "anywhere"}, "origin_preference"),
    ],
)
def test_it_refuses_bad_expertise_need_input_on_its_field(staff_api, designed_action, extra, attr):
    response = staff_api.post(NEEDS, need_body(designed_action.activities.get(), **extra))

    assert response.status_code == 400
    assert list(errors(response)) == [attr]
    assert ExpertiseNeed.objects.count() == 1


@pytest.mark.parametrize("kind", ["activity", "need"])
@pytest.mark.parametrize("method", ["put", "patch"])
@pytest.mark.parametrize("body", [[], [{"title": "x"}], 3, "text", True])
def test_it_refuses_an_edit_whose_body_is_not_an_object(
    staff_api, designed_action, kind, method, body
):
    # Found by .ci/fuzz-api: dict(request.data) of a list or a number answered 500.
    if kind == "activity":
        url = f"{ACTIVITIES}{designed_action.activities.get().pk}/"
    else:
        url = f"{NEEDS}{ExpertiseNeed.objects.get().pk}/"

    response = getattr(staff_api, method)(url, body, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["attr"] == "non_field_errors"
    assert response.json()["errors"][0]["code"] == "invalid"


def test_it_changes_an_activity_and_a_need_from_form_data(staff_api, designed_action):
    # A PATCH sent as a form keeps every other field and reads each value as sent (the
    # merge once turned each form value into a one-item list).
    activity = designed_action.activities.get()
    need = ExpertiseNeed.objects.get()

    response = staff_api.patch(
        f"{ACTIVITIES}{activity.pk}/", {"title": "Form title"}, format="multipart"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["title"] == "Form title"

    response = staff_api.patch(
        f"{NEEDS}{need.pk}/", {"experts_needed": "3", "skills": ["a", "b"]}, format="multipart"
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["experts_needed"], response.json()["skills"]) == (3, ["a", "b"])


def test_it_changes_and_deletes_an_expertise_need(staff_api, designed_action):
    need = ExpertiseNeed.objects.get()

    response = staff_api.patch(f"{NEEDS}{need.pk}/", {"experts_needed": 3, "languages": ["en"]})

    assert response.status_code == 200, response.json()
    assert (response.json()["experts_needed"], response.json()["languages"]) == (3, ["en"])
    assert response.json()["skills"] == ["statistics"]  # untouched fields stay
    need.refresh_from_db()
    assert need.experts_needed == 3

    response = staff_api.patch(f"{NEEDS}{need.pk}/", {"expert_days": 0})
    assert response.status_code == 400
    assert list(errors(response)) == ["expert_days"]

    assert staff_api.delete(f"{NEEDS}{need.pk}/").status_code == 204
    assert not ExpertiseNeed.objects.exists()


def test_it_refuses_expertise_need_changes_once_the_plan_is_agreed(
    staff_api, partner, staff, approver
):
    action = make_action(partner, staff, "in_implementation", approver=approver)
    need = ExpertiseNeed.objects.get()

    responses = [
        staff_api.post(NEEDS, need_body(action.activities.get())),
        staff_api.patch(f"{NEEDS}{need.pk}/", {"experts_needed": 5}),
        staff_api.delete(f"{NEEDS}{need.pk}/"),
    ]

    assert [r.status_code for r in responses] == [409, 409, 409]
    assert ExpertiseNeed.objects.get().experts_needed == 2


# --- transitions --------------------------------------------------------------------------


def test_it_refuses_to_propose_an_incomplete_plan_and_lists_the_problems(
    staff_api, validated_assessment
):
    action_id = staff_api.post(ACTIONS, action_body(validated_assessment)).json()["id"]

    response = staff_api.post(f"{ACTIONS}{action_id}/propose/")

    assert response.status_code == 409
    detail = errors(response)[None][0]
    assert "Add at least one activity." in detail
    assert Action.objects.get().status == "design"


def test_it_refuses_to_propose_an_action_whose_objectives_were_all_removed(
    staff_api, designed_action
):
    staff_api.patch(f"{ACTIONS}{designed_action.pk}/", {"objectives": []})

    response = fire(staff_api, designed_action, "propose")

    assert response.status_code == 409
    assert "Add at least one objective." in errors(response)[None][0]


def test_it_proposes_a_complete_plan(staff_api, designed_action, staff):
    response = fire(staff_api, designed_action, "propose")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "proposed"
    # staff without the approver flag can no longer do anything but cancel
    assert response.json()["allowed_transitions"] == ["cancel"]
    assert Action.objects.get().proposed_by == staff


def test_it_returns_a_plan_to_design_only_with_a_reason(
    api_as, staff_api, designed_action, approver
):
    fire(staff_api, designed_action, "propose")
    approver_api = api_as(approver)

    response = fire(approver_api, designed_action, "return")
    assert response.status_code == 400
    assert list(errors(response)) == ["comment"]
    assert status_of(designed_action) == "proposed"

    response = fire(approver_api, designed_action, "return", reason="Add a study visit.")
    assert response.status_code == 200
    assert response.json()["status"] == "design"
    event = TransitionEvent.objects.get(transition="return")
    assert (event.comment, event.actor) == ("Add a study visit.", approver)


def test_it_applies_the_four_eyes_rule_on_approval(
    api_as, designed_action, approver, approver2, staff
):
    assert fire(api_as(approver), designed_action, "propose").status_code == 200

    response = fire(api_as(approver), designed_action, "approve")
    assert response.status_code == 409
    assert "four-eyes" in errors(response)[None][0]

    response = fire(api_as(staff), designed_action, "approve")
    assert response.status_code == 403
    assert status_of(designed_action) == "proposed"

    response = fire(api_as(approver2), designed_action, "approve")
    assert response.status_code == 200
    assert response.json()["status"] == "approved"
    assert response.json()["approved_at"]


def test_it_lets_the_partner_co_sign_with_the_signatorys_name(api_as, partner, staff, approver):
    action = make_action(partner, staff, "approved", approver=approver)
    partner_api = api_as(partner)
    assert partner_api.get(f"{ACTIONS}{action.pk}/").json()["allowed_transitions"] == ["sign"]

    response = fire(partner_api, action, "sign", comment=SIGNATORY)

    assert response.status_code == 200, response.json()
    data = response.json()
    assert (data["status"], data["signed_name"]) == ("approved", SIGNATORY)
    assert data["signed_at"]
    assert data["allowed_transitions"] == []
    response = fire(partner_api, action, "sign", comment=SIGNATORY)
    assert response.status_code == 409
    assert "already co-signed" in errors(response)[None][0]


def test_it_refuses_to_start_before_the_partner_co_signs(staff_api, partner, staff, approver):
    action = make_action(partner, staff, "approved", approver=approver)

    response = fire(staff_api, action, "start")

    assert response.status_code == 409
    assert "co-sign" in errors(response)[None][0]
    assert status_of(action) == "approved"


def test_it_starts_completes_and_refuses_to_close_without_a_final_evaluation(
    staff_api, partner, staff, approver
):
    action = make_action(partner, staff, "signed", approver=approver)

    response = fire(staff_api, action, "start")
    assert response.status_code == 200
    assert response.json()["status"] == "in_implementation"
    assert response.json()["started_at"]

    response = fire(staff_api, action, "complete")
    assert response.status_code == 200
    assert response.json()["status"] == "completed"

    response = fire(staff_api, action, "close")
    assert response.status_code == 409
    assert "final evaluation" in errors(response)[None][0]
    assert status_of(action) == "completed"


@pytest.mark.parametrize("state", ["approved", "in_implementation"])
def test_it_suspends_and_resumes_where_the_action_was(staff_api, partner, staff, approver, state):
    action = make_action(partner, staff, state, approver=approver)

    response = fire(staff_api, action, "suspend")
    assert response.status_code == 400
    assert list(errors(response)) == ["comment"]

    response = fire(staff_api, action, "suspend", reason=REASON)
    assert response.status_code == 200
    assert response.json()["status"] == "suspended"
    assert response.json()["allowed_transitions"] == ["resume", "cancel"]

    response = fire(staff_api, action, "resume", reason="The unit is back.")
    assert response.status_code == 200
    assert response.json()["status"] == state


@pytest.mark.parametrize("state", ["design", "proposed", "signed", "in_implementation"])
def test_it_cancels_with_a_reason_from_any_state_before_completion(
    staff_api, partner, staff, approver, state
):
    action = make_action(partner, staff, state, approver=approver)

    response = fire(staff_api, action, "cancel", reason="The ministry withdrew.")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["allowed_transitions"] == []


def test_it_refuses_to_cancel_a_completed_action(staff_api, partner, staff, approver):
    action = make_action(partner, staff, "completed", approver=approver)

    response = fire(staff_api, action, "cancel", reason="Too late.")

    assert response.status_code == 409
    assert status_of(action) == "completed"


def test_it_answers_404_for_an_unknown_transition_and_400_for_an_unknown_body_field(
    staff_api, designed_action
):
    assert fire(staff_api, designed_action, "teleport").status_code == 404
    response = fire(staff_api, designed_action, "propose", signature="x")
    assert response.status_code == 400
    assert list(errors(response)) == ["signature"]
    assert status_of(designed_action) == "design"


# --- amendments ---------------------------------------------------------------------------

AMENDMENT = {
    "reason_category": "implementation_delay",
    "reason": "The ministry moved the training.",
    "requested_by": "Director of the unit, Ministry of Labour",
}


@pytest.fixture
def agreed(partner, staff, approver) -> Action:
    """An action in implementation (approved and co-signed)."""
    return make_action(partner, staff, "in_implementation", approver=approver)


def amendments_url(action: Any, *rest: Any) -> str:
    return f"{ACTIONS}{action.pk}/amendments/" + "".join(f"{r}/" for r in rest)


@pytest.mark.parametrize("state", ["approved", "in_implementation", "suspended"])
def test_it_opens_an_amendment_of_an_agreed_plan(staff_api, partner, staff, approver, state):
    agreed = make_action(partner, staff, state, approver=approver)
    assert staff_api.get(amendments_url(agreed)).json() == []

    response = staff_api.post(amendments_url(agreed), AMENDMENT)

    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["number"], data["status"], data["changes"]) == (1, "draft", [])
    assert data["reason_category"] == "implementation_delay"
    assert data["requested_by"] == AMENDMENT["requested_by"]
    assert data["proposal"]["end_date"] == agreed.end_date.isoformat()
    # Nothing changes yet, so it cannot be proposed; it can be discarded.
    assert data["allowed_transitions"] == ["discard"]
    assert [a["id"] for a in staff_api.get(amendments_url(agreed)).json()] == [data["id"]]


def test_it_refuses_an_amendment_of_an_action_in_design(staff_api, designed_action):
    response = staff_api.post(amendments_url(designed_action), AMENDMENT)

    assert response.status_code == 409
    assert "edit the plan" in errors(response)[None][0]
    assert not Amendment.objects.exists()


def test_it_refuses_a_second_amendment_while_one_is_open(staff_api, agreed):
    staff_api.post(amendments_url(agreed), AMENDMENT)

    response = staff_api.post(amendments_url(agreed), AMENDMENT)

    assert response.status_code == 409
    assert Amendment.objects.count() == 1


def test_it_requires_why_and_who_asked(staff_api, agreed):
    response = staff_api.post(amendments_url(agreed), {"reason_category": "because"})

    assert response.status_code == 400
    assert set(errors(response)) == {"reason_category", "reason", "requested_by"}


def test_it_shows_what_an_amendment_changes(staff_api, agreed):
    amendment = staff_api.post(amendments_url(agreed), AMENDMENT).json()
    proposal = amendment["proposal"]
    new_end = (agreed.end_date + timedelta(days=30)).isoformat()

    response = staff_api.patch(
        amendments_url(agreed, amendment["id"]), {"proposal": {**proposal, "end_date": new_end}}
    )

    assert response.status_code == 200, response.json()
    assert response.json()["changes"] == [
        {
            "what": "Period",
            "before": f"{proposal['start_date']} → {proposal['end_date']}",
            "after": f"{proposal['start_date']} → {new_end}",
        }
    ]
    # The stored plan does not change until the partner co-signs.
    assert Action.objects.get().end_date == agreed.end_date


def moved_activity(proposal: dict[str, Any], days: int = 7) -> tuple[dict[str, Any], str]:
    activity = dict(proposal["activities"][0])
    moved = (date.fromisoformat(activity["start_date"]) + timedelta(days=days)).isoformat()
    activity.update(start_date=moved, end_date=moved)
    return {**proposal, "activities": [activity]}, moved


def test_it_lists_a_moved_activity_in_the_changes(staff_api, agreed):
    amendment = staff_api.post(amendments_url(agreed), AMENDMENT).json()
    proposal, moved = moved_activity(amendment["proposal"])

    response = staff_api.patch(amendments_url(agreed, amendment["id"]), {"proposal": proposal})

    assert response.status_code == 200, response.json()
    changes = response.json()["changes"]
    assert [c["what"] for c in changes] == [
        "“Training of analysts”: start",
        "“Training of analysts”: end",
    ]
    assert [c["after"] for c in changes] == [moved, moved]


@pytest.mark.parametrize(
    "change",
    [
        "not-a-plan",
        "missing-activities",
        "activity-outside-the-period",
        "objective-without-gaps",
        "need-without-experts",
    ],
)
def test_it_refuses_an_invalid_proposal_on_the_proposal_field(staff_api, agreed, change):
    amendment = staff_api.post(amendments_url(agreed), AMENDMENT).json()
    proposal = amendment["proposal"]
    activity = proposal["activities"][0]
    bad: Any
    if change == "not-a-plan":
        bad = ["a", "list"]
    elif change == "missing-activities":
        bad = {k: v for k, v in proposal.items() if k != "activities"}
    elif change == "activity-outside-the-period":
        late = (agreed.end_date + timedelta(days=3)).isoformat()
        bad = {**proposal, "activities": [{**activity, "end_date": late}]}
    elif change == "objective-without-gaps":
        bad = {**proposal, "objectives": [{**proposal["objectives"][0], "gaps": []}]}
    else:
        need = {**activity["needs"][0], "experts_needed": 0}
        bad = {**proposal, "activities": [{**activity, "needs": [need]}]}

    response = staff_api.patch(amendments_url(agreed, amendment["id"]), {"proposal": bad})

    assert response.status_code == 400
    assert list(errors(response)) == ["proposal"]
    assert Amendment.objects.get().proposal == proposal


@pytest.mark.parametrize("shape", ["activity-without-key", "objectives-not-a-list"])
def test_it_refuses_a_malformed_proposal_instead_of_storing_it(api_as, staff, agreed, shape):
    api = api_as(staff)
    api.raise_request_exception = False
    amendment = api.post(amendments_url(agreed), AMENDMENT).json()
    proposal = amendment["proposal"]
    if shape == "activity-without-key":
        bad = {
            **proposal,
            "activities": [{k: v for k, v in proposal["activities"][0].items() if k != "key"}],
        }
    else:
        bad = {**proposal, "objectives": "Analysts run the register"}

    response = api.patch(amendments_url(agreed, amendment["id"]), {"proposal": bad})

    assert response.status_code == 400
    assert list(errors(response)) == ["proposal"]
    assert api.get(amendments_url(agreed, amendment["id"])).status_code == 200


def test_it_opens_an_amendment_with_its_proposal_in_one_call(staff_api, agreed):
    from actions import plan

    proposal, day = moved_activity(plan.snapshot(agreed))

    response = staff_api.post(amendments_url(agreed), {**AMENDMENT, "proposal": proposal})

    assert response.status_code == 201, response.json()
    assert [c["after"] for c in response.json()["changes"]] == [day, day]


def test_it_creates_no_amendment_when_the_proposal_is_refused(staff_api, agreed):
    response = staff_api.post(
        amendments_url(agreed), {**AMENDMENT, "proposal": {"start_date": "soon"}}
    )

    assert response.status_code == 400
    assert list(errors(response)) == ["proposal"]
    assert not Amendment.objects.exists()
    assert staff_api.post(amendments_url(agreed), AMENDMENT).status_code == 201


def test_it_records_why_an_open_amendment_closed_when_the_action_is_cancelled(
    staff_api, agreed, staff
):
    amendment = staff_api.post(amendments_url(agreed), AMENDMENT).json()

    fire(staff_api, agreed, "cancel", reason="The ministry withdrew.")

    assert staff_api.get(amendments_url(agreed, amendment["id"])).json()["status"] == "rejected"
    from django.contrib.contenttypes.models import ContentType

    event = TransitionEvent.objects.get(
        content_type=ContentType.objects.get_for_model(Amendment), object_id=amendment["id"]
    )
    assert (event.from_state, event.to_state, event.actor) == ("draft", "rejected", staff)
    assert event.comment == "The ministry withdrew."


def test_it_corrects_the_reason_of_a_draft_amendment(staff_api, agreed):
    amendment = staff_api.post(amendments_url(agreed), AMENDMENT).json()

    response = staff_api.patch(
        amendments_url(agreed, amendment["id"]), {"reason_category": "partner_request"}
    )

    assert response.status_code == 200
    assert response.json()["reason_category"] == "partner_request"


def test_it_takes_an_amendment_through_approval_and_co_signature_and_applies_it(
    api_as, staff_api, agreed, partner, approver, staff
):
    activity = agreed.activities.get()
    amendment = staff_api.post(amendments_url(agreed), AMENDMENT).json()
    proposal, moved = moved_activity(amendment["proposal"])
    staff_api.patch(amendments_url(agreed, amendment["id"]), {"proposal": proposal})
    url = amendments_url(agreed, amendment["id"])
    partner_api, approver_api = api_as(partner), api_as(approver)

    # The partner sees an amendment only once it is approved for their signature.
    assert partner_api.get(amendments_url(agreed)).json() == []
    assert partner_api.get(url).status_code == 404

    response = staff_api.post(url + "propose/")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "proposed"

    response = staff_api.post(url + "approve/")
    assert response.status_code == 403  # no approver flag

    response = approver_api.post(url + "approve/")
    assert response.status_code == 200
    assert response.json()["status"] == "approved"
    assert partner_api.get(url).json()["allowed_transitions"] == ["sign", "decline"]

    # Approved but not co-signed: the plan is unchanged.
    assert staff_api.get(f"{ACTIVITIES}{activity.pk}/").json()["start_date"] != moved

    response = partner_api.post(url + "sign/", {"comment": SIGNATORY})
    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["signed_name"]) == ("applied", SIGNATORY)
    assert response.json()["applied_at"]

    applied = staff_api.get(f"{ACTIVITIES}{activity.pk}/").json()
    assert (applied["start_date"], applied["end_date"]) == (moved, moved)
    assert staff_api.get(f"{ACTIONS}{agreed.pk}/").json()["status"] == "in_implementation"
    assert ExpertiseNeed.objects.filter(activity=activity).count() == 1  # needs kept


def test_it_lets_an_amendment_add_an_activity_that_appears_once_signed(
    api_as, staff_api, agreed, partner, approver
):
    amendment = staff_api.post(amendments_url(agreed), AMENDMENT).json()
    proposal = amendment["proposal"]
    added = {
        **proposal["activities"][0],
        "key": "new-visit",
        "type": "study_visit",
        "title": "Study visit",
        "needs": [],
    }
    url = amendments_url(agreed, amendment["id"])
    response = staff_api.patch(
        url, {"proposal": {**proposal, "activities": [*proposal["activities"], added]}}
    )
    assert [c["what"] for c in response.json()["changes"]] == ["Activity added"]

    staff_api.post(url + "propose/")
    api_as(approver).post(url + "approve/")
    api_as(partner).post(url + "sign/", {"comment": SIGNATORY})

    titles = [a["title"] for a in staff_api.get(ACTIVITIES).json()["results"]]
    assert sorted(titles) == ["Study visit", "Training of analysts"]


def test_it_refuses_to_propose_an_amendment_that_changes_nothing(staff_api, agreed):
    amendment = staff_api.post(amendments_url(agreed), AMENDMENT).json()

    response = staff_api.post(amendments_url(agreed, amendment["id"], "propose"))

    assert response.status_code == 409
    assert "changes nothing" in errors(response)[None][0]


def test_it_applies_the_four_eyes_rule_to_amendments(api_as, agreed, staff, approver, approver2):
    amendment = make_amendment(agreed, staff=staff, approver=approver, partner=None)
    url = amendments_url(agreed, amendment.pk)
    assert api_as(approver).post(url + "propose/").status_code == 200

    response = api_as(approver).post(url + "approve/")
    assert response.status_code == 409
    assert "four-eyes" in errors(response)[None][0]
    assert api_as(approver2).post(url + "approve/").status_code == 200


@pytest.mark.parametrize(
    ("state", "name", "who"),
    [
        ("proposed", "reject", "approver"),
        ("approved", "decline", "partner"),
        ("draft", "discard", "staff"),
        ("proposed", "discard", "staff"),
    ],
)
def test_it_rejects_declines_or_discards_an_amendment_with_a_reason(
    api_as, agreed, personas, staff, approver, partner, state, name, who
):
    before = agreed.activities.get().start_date
    amendment = make_amendment(agreed, state, staff=staff, approver=approver, partner=partner)
    api = api_as(personas[who])
    url = amendments_url(agreed, amendment.pk, name)

    response = api.post(url)
    assert response.status_code == 400
    assert list(errors(response)) == ["comment"]

    response = api.post(url, {"reason": "Not this year."})
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "rejected"
    assert Activity.objects.get().start_date == before  # the plan is unchanged
    # The action can be amended again.
    assert api_as(staff).post(amendments_url(agreed), AMENDMENT).status_code == 201


def test_it_refuses_an_amendment_transition_out_of_order(api_as, agreed, staff, approver, partner):
    amendment = make_amendment(agreed, "proposed", staff=staff, approver=approver, partner=partner)

    response = api_as(staff).post(amendments_url(agreed, amendment.pk, "propose"))

    assert response.status_code == 409
    assert Amendment.objects.get().status == "proposed"


# --- lists: filters, search, ordering, pagination -----------------------------------------


@pytest.fixture
def portfolio(partner, staff, approver) -> dict[str, Action]:
    """Three actions in three countries, states, thematic areas and GCM objectives."""
    peru = partner_in("PE", "partner-pe")
    jordan = partner_in("JO", "partner-jo")
    return {
        "tunisia": make_action(
            partner,
            staff,
            "design",
            title="Labour register",
            gcm=(23,),
            areas=("labour-migration",),
        ),
        "peru": make_action(
            peru,
            staff,
            "approved",
            approver=approver,
            title="Census of emigrants",
            gcm=(1,),
            areas=("data",),
        ),
        "jordan": make_action(
            jordan,
            staff,
            "in_implementation",
            approver=approver,
            title="Border data exchange",
            gcm=(11,),
            areas=("border-management",),
        ),
    }


def listed(api: Any, **params: Any) -> list[str]:
    response = api.get(ACTIONS, params)
    assert response.status_code == 200, response.json()
    return [a["title"] for a in response.json()["results"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "approved"}, ["Census of emigrants"]),
        ({"status": ["design", "in_implementation"]}, ["Border data exchange", "Labour register"]),
        ({"country": "PE"}, ["Census of emigrants"]),
        ({"country": "tn"}, ["Labour register"]),
        ({"region": "Asia"}, ["Border data exchange"]),
        ({"region": "Africa"}, ["Labour register"]),
        ({"thematic_area": "data"}, ["Census of emigrants"]),
        ({"gcm_objective": 11}, ["Border data exchange"]),
        ({"gcm_objective": 23}, ["Labour register"]),
        ({"search": "census"}, ["Census of emigrants"]),
        ({"search": "border", "status": "in_implementation"}, ["Border data exchange"]),
    ],
)
def test_it_filters_and_searches_actions(staff_api, portfolio, params, expected):
    assert sorted(listed(staff_api, **params)) == expected


def test_it_finds_an_action_by_its_reference(staff_api, portfolio):
    reference = portfolio["peru"].reference
    assert listed(staff_api, search=reference) == ["Census of emigrants"]


def test_it_orders_actions(staff_api, portfolio):
    by_reference = sorted(portfolio.values(), key=lambda a: a.reference)
    assert listed(staff_api, ordering="reference") == [a.title for a in by_reference]
    assert listed(staff_api, ordering="-reference") == [a.title for a in reversed(by_reference)]
    # newest first by default
    assert listed(staff_api) == ["Border data exchange", "Census of emigrants", "Labour register"]


def test_it_refuses_an_unknown_status_filter(staff_api, portfolio):
    response = staff_api.get(ACTIONS, {"status": "dreaming"})
    assert response.status_code == 400
    assert list(errors(response)) == ["status"]


def test_it_paginates_actions(staff_api, portfolio):
    first = staff_api.get(ACTIONS, {"page_size": 2}).json()

    assert set(first) == {"count", "count_is_estimate", "next", "previous", "results"}
    assert (first["count"], len(first["results"]), first["previous"]) == (3, 2, None)
    assert "page=2" in first["next"]
    second = staff_api.get(ACTIONS, {"page_size": 2, "page": 2}).json()
    assert (len(second["results"]), second["next"]) == (1, None)
    assert second["previous"]
    ids = {a["id"] for a in first["results"]} | {a["id"] for a in second["results"]}
    assert ids == {a.pk for a in portfolio.values()}


def test_it_filters_activities_and_needs_by_action(staff_api, portfolio):
    peru = portfolio["peru"]
    activities = staff_api.get(ACTIVITIES, {"action": peru.pk}).json()
    needs = staff_api.get(NEEDS, {"action": peru.pk}).json()

    assert [a["action"] for a in activities["results"]] == [peru.pk]
    assert [n["activity"] for n in needs["results"]] == [peru.activities.get().pk]
    assert staff_api.get(ACTIVITIES).json()["count"] == 3
    assert staff_api.get(NEEDS).json()["count"] == 3
