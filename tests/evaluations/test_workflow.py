"""The final evaluation, draft → submitted (evaluations/workflow.py and the evaluation
services): DAC ratings and their validation, recommendations, who may write and submit it,
the conflict-of-interest rule (an evaluator deployed on the action as an expert), and
closing the action once the evaluation is submitted (actions API ``allowed_transitions``)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from actions import services as action_services
from actions.models import Action
from cbportal.core.errors import (
    ApplicationError,
    NotFound,
    TransitionForbidden,
    TransitionNotAllowed,
)
from cbportal.core.models import Notification
from evaluations import services
from evaluations.models import DAC_CRITERIA, FinalEvaluation, Recommendation
from evaluations.workflow import EVALUATION_WORKFLOW, evaluation_problems
from tests.actions.api_helpers import ACTIONS, errors
from tests.actions.builders import events_for
from tests.evaluations.builders import (
    COMPLETE_EVALUATION,
    cancelled_action,
    complete_evaluation,
    engaged_expert,
    running_action,
    submitted_evaluation,
)
from tests.factories import UserFactory

CRITERIA = [name for name, _label in DAC_CRITERIA]
CONFLICT = "conflict of interest"


def fresh(obj: Any) -> Any:
    return type(obj).objects.get(pk=obj.pk)


def save(action: Any, by: Any, **data: Any) -> FinalEvaluation:
    return services.evaluation_save(action_id=action.pk, by=by, data=data)


def submit(evaluation: Any, by: Any) -> FinalEvaluation:
    return services.evaluation_submit(evaluation_id=evaluation.pk, by=by)


def complete(action: Any, staff: Any) -> None:
    action_services.action_transition(action_id=action.pk, name="complete", by=staff, text="")


def close(action: Any, staff: Any) -> Action:
    return action_services.action_transition(action_id=action.pk, name="close", by=staff, text="")


def recommendations(evaluation: Any) -> list[str]:
    return list(
        Recommendation.objects.filter(evaluation=evaluation)
        .order_by("position")
        .values_list("text", flat=True)
    )


@pytest.fixture
def people(personas: dict[str, Any], evaluator2: Any, admin_user: Any) -> dict[str, Any]:
    return {**personas, "evaluator2": evaluator2, "admin": admin_user}


# --- the table --------------------------------------------------------------------------------


def test_the_table_has_one_transition_for_the_evaluator():
    (row,) = EVALUATION_WORKFLOW.table()
    assert (row["transition"], row["from"], row["to"], row["roles"]) == (
        "submit",
        ["draft"],
        "submitted",
        ["evaluator"],
    )
    assert len(row["guards"]) == 4


# --- saving the draft ------------------------------------------------------------------------


def test_the_assigned_evaluator_writes_the_draft(action, evaluator):
    evaluation = fresh(complete_evaluation(action, evaluator))
    assert (evaluation.action, evaluation.status, evaluation.created_by) == (
        action,
        "draft",
        evaluator,
    )
    assert [evaluation.relevance, evaluation.impact, evaluation.sustainability] == [3, 2, 4]
    assert evaluation.relevance_justification == "Why relevance is rated so."
    assert (evaluation.findings, evaluation.lessons) == (
        COMPLETE_EVALUATION["findings"],
        COMPLETE_EVALUATION["lessons"],
    )
    assert recommendations(evaluation) == [
        "Train regional trainers.",
        "Extend the SOPs to airports.",
    ]
    assert (evaluation.submitted_by, evaluation.submitted_at) == (None, None)
    assert evaluation_problems(evaluation) == []


def test_a_save_changes_only_what_it_is_given(action, evaluator):
    complete_evaluation(action, evaluator)
    evaluation = fresh(save(action, evaluator, relevance="4", findings="  New findings.  "))
    assert (evaluation.relevance, evaluation.coherence, evaluation.findings) == (
        4,
        3,
        "New findings.",
    )
    assert evaluation.lessons == COMPLETE_EVALUATION["lessons"]
    assert len(recommendations(evaluation)) == 2  # not given: kept
    assert FinalEvaluation.objects.count() == 1


@pytest.mark.parametrize("blank", [None, ""])
def test_a_rating_can_be_cleared(action, evaluator, blank):
    complete_evaluation(action, evaluator)
    assert fresh(save(action, evaluator, impact=blank)).impact is None


@pytest.mark.parametrize("criterion", CRITERIA)
@pytest.mark.parametrize("bad", [0, 5, "x", 2.5], ids=["0", "5", "x", "2.5"])
def test_a_rating_outside_1_to_4_is_refused_and_nothing_saved(action, evaluator, criterion, bad):
    with pytest.raises(ApplicationError) as excinfo:
        save(action, evaluator, **{**COMPLETE_EVALUATION, criterion: bad})
    assert excinfo.value.errors == {
        criterion: ["Rate from 1 (unsatisfactory) to 4 (highly satisfactory)."]
    }
    assert not FinalEvaluation.objects.exists()
    assert not Recommendation.objects.exists()


@pytest.mark.parametrize("bad", [-1, True, "3.5", "four", [3]], ids=repr)
def test_other_bad_ratings_are_refused(action, evaluator, bad):
    with pytest.raises(ApplicationError) as excinfo:
        save(action, evaluator, relevance=bad)
    assert list(excinfo.value.errors) == ["relevance"]


def test_a_bad_rating_leaves_an_existing_draft_as_it_was(action, evaluator):
    evaluation = complete_evaluation(action, evaluator)
    with pytest.raises(ApplicationError):
        save(
            action,
            evaluator,
            relevance=1,
            coherence=9,
            findings="Should not be kept.",
            recommendations=["Should not be kept."],
        )
    evaluation = fresh(evaluation)
    assert (evaluation.relevance, evaluation.coherence) == (3, 3)
    assert evaluation.findings == COMPLETE_EVALUATION["findings"]
    assert recommendations(evaluation) == COMPLETE_EVALUATION["recommendations"]


def test_every_bad_rating_is_reported_at_once(action, evaluator):
    with pytest.raises(ApplicationError) as excinfo:
        save(action, evaluator, **dict.fromkeys(CRITERIA, 0))
    assert sorted(excinfo.value.errors) == sorted(CRITERIA)


def test_the_database_refuses_a_rating_outside_1_to_4(action, evaluator):
    from django.db import IntegrityError, transaction

    evaluation = complete_evaluation(action, evaluator)
    for name in CRITERIA:
        with pytest.raises(IntegrityError), transaction.atomic():
            FinalEvaluation.objects.filter(pk=evaluation.pk).update(**{name: 5})


# --- recommendations -------------------------------------------------------------------------


def test_recommendations_are_replaced_on_save(action, evaluator):
    evaluation = complete_evaluation(action, evaluator)
    save(action, evaluator, recommendations=["Publish the SOPs.", "  ", "Train the airports."])
    assert recommendations(evaluation) == ["Publish the SOPs.", "Train the airports."]
    save(action, evaluator, recommendations="First line\n\n  Second line  \r\nThird line\n")
    assert recommendations(evaluation) == ["First line", "Second line", "Third line"]
    positions = Recommendation.objects.filter(evaluation=evaluation).order_by("position")
    assert list(positions.values_list("position", flat=True)) == [1, 2, 3]
    save(action, evaluator, recommendations=[{"text": "From the API."}])
    assert recommendations(evaluation) == ["From the API."]
    save(action, evaluator, recommendations=[])
    assert recommendations(evaluation) == []
    assert Recommendation.objects.count() == 0


def test_at_most_fifty_recommendations(action, evaluator):
    with pytest.raises(ApplicationError) as excinfo:
        save(action, evaluator, recommendations=[f"R{i}" for i in range(51)])
    assert excinfo.value.errors == {"recommendations": ["Give at most 50 recommendations."]}
    assert not FinalEvaluation.objects.exists()
    assert len(recommendations(save(action, evaluator, recommendations=["R"] * 50))) == 50


def test_recommendations_that_are_not_a_list_or_text_are_refused(action, evaluator):
    with pytest.raises(ApplicationError) as excinfo:
        save(action, evaluator, recommendations=5)
    assert list(excinfo.value.errors) == ["recommendations"]


# --- who writes the draft, when --------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "error"),
    [
        ("staff", TransitionForbidden),
        ("approver", TransitionForbidden),
        ("admin", TransitionForbidden),
        ("partner", TransitionForbidden),
        ("partner2", NotFound),
        ("expert", NotFound),
        ("evaluator2", NotFound),
    ],
)
def test_only_an_assigned_evaluator_writes_the_evaluation(action, people, persona, error):
    with pytest.raises(error):
        complete_evaluation(action, people[persona])
    assert not FinalEvaluation.objects.exists()


def test_two_assigned_evaluators_share_one_draft(action, staff, evaluator, evaluator2):
    action_services.action_update(
        action_id=action.pk, by=staff, data={"evaluators": [evaluator, evaluator2]}
    )
    complete_evaluation(action, evaluator)
    save(action, evaluator2, lessons="Second pair of eyes.")
    evaluation = FinalEvaluation.objects.get()
    assert (evaluation.created_by, evaluation.lessons) == (evaluator, "Second pair of eyes.")


@pytest.mark.parametrize("state", ["approved", "suspended", "completed"])
def test_a_draft_is_written_while_the_action_is_monitored(
    partner, staff, approver, evaluator, state
):
    action = running_action(partner, staff, approver, evaluator=evaluator, state=state)
    assert complete_evaluation(action, evaluator).status == "draft"


@pytest.mark.parametrize("state", ["design", "proposed"])
def test_an_action_not_yet_approved_is_not_evaluated(partner, staff, approver, evaluator, state):
    action = running_action(partner, staff, approver, evaluator=evaluator, state=state)
    with pytest.raises(TransitionNotAllowed, match="it cannot be evaluated"):
        complete_evaluation(action, evaluator)
    assert not FinalEvaluation.objects.exists()


def test_the_refusal_reads_well_for_an_action_in_design(partner, staff, approver, evaluator):
    from tests.evaluations.builders import make_indicator, measure

    action = running_action(partner, staff, approver, evaluator=evaluator, state="design")
    indicator = make_indicator(action, staff)
    messages = []
    for attempt in (
        lambda: complete_evaluation(action, evaluator),
        lambda: measure(indicator, staff, "30"),
    ):
        with pytest.raises(TransitionNotAllowed) as excinfo:
            attempt()
        messages.append(excinfo.value.message)
    assert not [m for m in messages if " a in design " in m.lower()], messages


def test_a_cancelled_action_is_not_evaluated(partner, staff, approver, evaluator):
    action = cancelled_action(partner, staff, approver, evaluator=evaluator)
    with pytest.raises(
        TransitionNotAllowed, match=r"This action is cancelled: it cannot be evaluated\."
    ):
        complete_evaluation(action, evaluator)
    assert not FinalEvaluation.objects.exists()


def test_an_unknown_action_is_not_found(evaluator):
    with pytest.raises(NotFound):
        services.evaluation_save(action_id=999_999, by=evaluator, data={})


# --- submitting ------------------------------------------------------------------------------


def test_the_evaluator_submits_a_complete_evaluation_of_a_completed_action(
    action, staff, evaluator
):
    evaluation = complete_evaluation(action, evaluator)
    complete(action, staff)
    services.evaluation_submit(
        evaluation_id=evaluation.pk, by=evaluator, comment="  Final version.  "
    )
    evaluation = fresh(evaluation)
    assert (evaluation.status, evaluation.submitted_by) == ("submitted", evaluator)
    assert evaluation.submitted_at is not None
    (event,) = events_for(evaluation)
    assert (event.transition, event.from_state, event.to_state, event.actor) == (
        "submit",
        "draft",
        "submitted",
        evaluator,
    )
    assert event.comment == "Final version."


def test_submitting_is_refused_while_the_action_is_in_implementation(action, evaluator):
    evaluation = complete_evaluation(action, evaluator)
    with pytest.raises(TransitionNotAllowed) as excinfo:
        submit(evaluation, evaluator)
    assert excinfo.value.message == (
        "The final evaluation can be submitted once the action is completed."
    )
    assert fresh(evaluation).status == "draft"


def test_an_incomplete_evaluation_says_what_is_missing(action, staff, evaluator):
    evaluation = complete_evaluation(
        action, evaluator, relevance=None, impact_justification="  ", findings=""
    )
    complete(action, staff)
    with pytest.raises(TransitionNotAllowed) as excinfo:
        submit(evaluation, evaluator)
    message = excinfo.value.message
    assert message.startswith("The evaluation is not complete:")
    assert "Rate relevance from 1 to 4." in message
    assert "Justify the rating of impact." in message
    assert "Write the findings." in message
    assert "lessons" not in message
    assert "coherence" not in message
    assert fresh(evaluation).status == "draft"


def test_an_empty_evaluation_lists_everything(action, staff, evaluator):
    evaluation = save(action, evaluator)
    complete(action, staff)
    with pytest.raises(TransitionNotAllowed) as excinfo:
        submit(evaluation, evaluator)
    for _name, label in DAC_CRITERIA:
        assert f"Rate {str(label).lower()} from 1 to 4." in excinfo.value.message
    assert "Write the lessons learned." in excinfo.value.message


@pytest.mark.parametrize(
    ("persona", "error"),
    [
        ("staff", TransitionForbidden),
        ("approver", TransitionForbidden),
        ("admin", TransitionForbidden),
        ("partner", NotFound),  # a draft is not shown to the partner
        ("partner2", NotFound),
        ("expert", NotFound),
        ("evaluator2", NotFound),
    ],
)
def test_only_an_assigned_evaluator_submits(action, staff, evaluator, people, persona, error):
    evaluation = complete_evaluation(action, evaluator)
    complete(action, staff)
    with pytest.raises(error):
        submit(evaluation, people[persona])
    assert fresh(evaluation).status == "draft"
    assert not events_for(evaluation).exists()


def test_another_assigned_evaluator_may_submit_the_shared_draft(
    action, staff, evaluator, evaluator2
):
    evaluation = complete_evaluation(action, evaluator)
    action_services.action_update(
        action_id=action.pk, by=staff, data={"evaluators": [evaluator, evaluator2]}
    )
    complete(action, staff)
    assert fresh(submit(evaluation, evaluator2)).submitted_by == evaluator2


def test_an_evaluator_removed_from_the_action_can_no_longer_submit(action, staff, evaluator):
    evaluation = complete_evaluation(action, evaluator)
    other = UserFactory(evaluator=True)
    action_services.action_update(action_id=action.pk, by=staff, data={"evaluators": [other]})
    complete(action, staff)
    with pytest.raises(NotFound):
        submit(evaluation, evaluator)
    assert fresh(submit(evaluation, other)).status == "submitted"


def test_a_submitted_evaluation_is_final(action, staff, approver, partner, evaluator):
    evaluation = submitted_evaluation(
        action, evaluator, staff=staff, approver=approver, partner=partner
    )
    with pytest.raises(TransitionNotAllowed):
        submit(evaluation, evaluator)
    with pytest.raises(TransitionNotAllowed, match=r"A submitted evaluation cannot change\."):
        save(action, evaluator, relevance=1, recommendations=["Changed."])
    evaluation = fresh(evaluation)
    assert (evaluation.relevance, len(recommendations(evaluation))) == (3, 2)
    assert events_for(evaluation).count() == 1


def test_an_unknown_evaluation_is_not_found(evaluator):
    for pk in (999_999, "abc"):
        with pytest.raises(NotFound):
            services.evaluation_submit(evaluation_id=pk, by=evaluator)  # type: ignore[arg-type]


# --- conflict of interest --------------------------------------------------------------------

ENGAGED = ["accepted", "confirmed", "completed", "cancelled"]
NOT_ENGAGED = ["shortlisted", "invited", "declined", "expired"]


def deployed(action: Any, staff: Any, evaluator: Any, how: str, state: str) -> Any:
    """``evaluator`` deployed on ``action`` as an expert: the expert profile held by their
    own account, or a separate expert account whose profile has their address (in other
    letter case)."""
    if how == "own-account":
        return engaged_expert(action, staff, state, user=evaluator)
    return engaged_expert(action, staff, state, email=evaluator.email.upper())


@pytest.mark.parametrize("how", ["own-account", "same-email"])
@pytest.mark.parametrize("state", ENGAGED)
def test_an_evaluator_deployed_on_the_action_can_neither_save_nor_submit(
    action, staff, evaluator, how, state
):
    evaluation = complete_evaluation(action, evaluator)  # before the deployment
    deployment = deployed(action, staff, evaluator, how, state)
    assert deployment.status == state
    with pytest.raises(TransitionForbidden, match=CONFLICT):
        save(action, evaluator, findings="Changed after the mission.")
    assert fresh(evaluation).findings == COMPLETE_EVALUATION["findings"]
    complete(action, staff)
    with pytest.raises(TransitionNotAllowed, match=CONFLICT):
        submit(evaluation, evaluator)
    assert fresh(evaluation).status == "draft"


@pytest.mark.parametrize("how", ["own-account", "same-email"])
def test_a_deployed_evaluator_cannot_start_an_evaluation(action, staff, evaluator, how):
    deployed(action, staff, evaluator, how, "accepted")
    with pytest.raises(TransitionForbidden, match=CONFLICT):
        complete_evaluation(action, evaluator)
    assert not FinalEvaluation.objects.exists()


@pytest.mark.parametrize("state", NOT_ENGAGED)
def test_a_shortlisted_invited_declined_or_expired_expert_has_no_conflict(
    action, staff, evaluator, state
):
    deployed(action, staff, evaluator, "same-email", state)
    evaluation = complete_evaluation(action, evaluator)
    complete(action, staff)
    assert submit(evaluation, evaluator).status == "submitted"


def test_a_deployment_on_another_action_is_no_conflict(action, partner, staff, approver, evaluator):
    elsewhere = running_action(partner, staff, approver, title="Elsewhere")
    engaged_expert(elsewhere, staff, "confirmed", user=evaluator)
    evaluation = complete_evaluation(action, evaluator)
    complete(action, staff)
    assert submit(evaluation, evaluator).status == "submitted"


def test_another_persons_deployment_is_no_conflict(action, staff, evaluator):
    engaged_expert(action, staff, "completed")
    evaluation = complete_evaluation(action, evaluator)
    complete(action, staff)
    assert submit(evaluation, evaluator).status == "submitted"


@pytest.mark.parametrize("how", ["own-account", "same-email"])
@pytest.mark.parametrize("state", ["accepted", "confirmed", "completed"])
def test_staff_cannot_assign_an_evaluator_deployed_on_the_action(
    action, staff, evaluator, evaluator2, how, state
):
    deployed(action, staff, evaluator2, how, state)
    with pytest.raises(ApplicationError) as excinfo:
        action_services.action_update(
            action_id=action.pk, by=staff, data={"evaluators": [evaluator, evaluator2]}
        )
    assert list(excinfo.value.errors) == ["evaluators"]
    assert evaluator2.display_name in excinfo.value.errors["evaluators"][0]
    assert CONFLICT in excinfo.value.errors["evaluators"][0]
    assert list(fresh(action).evaluators.all()) == [evaluator]
    assert not Notification.objects.filter(event="evaluator_assigned", recipient=evaluator2)


def test_staff_assign_an_evaluator_who_was_only_shortlisted(action, staff, evaluator, evaluator2):
    deployed(action, staff, evaluator2, "own-account", "shortlisted")
    action_services.action_update(
        action_id=action.pk, by=staff, data={"evaluators": [evaluator, evaluator2]}
    )
    assert set(fresh(action).evaluators.all()) == {evaluator, evaluator2}


def test_the_api_refuses_the_assignment_on_the_evaluators_field(
    action, staff, evaluator, evaluator2, api_as
):
    deployed(action, staff, evaluator2, "same-email", "confirmed")
    response = api_as(staff).patch(
        f"{ACTIONS}{action.pk}/", {"evaluators": [evaluator.pk, evaluator2.pk]}, format="json"
    )
    assert response.status_code == 400, response.content
    assert CONFLICT in errors(response)["evaluators"][0]
    assert list(fresh(action).evaluators.all()) == [evaluator]


# --- closing after the evaluation ------------------------------------------------------------

CLOSE_REFUSED = "An action can be closed only after its final evaluation is submitted."


def test_closing_waits_for_the_submitted_evaluation(action, staff, partner, partner2, evaluator):
    complete(action, staff)
    with pytest.raises(TransitionNotAllowed) as excinfo:
        close(action, staff)
    assert excinfo.value.message == CLOSE_REFUSED
    evaluation = complete_evaluation(action, evaluator)  # a draft is not enough
    with pytest.raises(TransitionNotAllowed, match=re.escape(CLOSE_REFUSED)):
        close(action, staff)
    assert fresh(action).status == "completed"
    submit(evaluation, evaluator)
    closed = fresh(close(action, staff))
    assert (closed.status, closed.closed_at is not None) == ("closed", True)
    told = Notification.objects.filter(event="action_closed")
    assert list(told.values_list("recipient", flat=True)) == [partner.pk]
    assert told.get().object_id == action.pk


def test_only_staff_close(action, staff, approver, partner, evaluator):
    submitted_evaluation(action, evaluator, staff=staff, approver=approver, partner=partner)
    for user in (partner, evaluator):
        with pytest.raises(TransitionForbidden):
            close(action, user)
    assert fresh(action).status == "completed"


def transitions_seen(client: Any, action: Any) -> list[str]:
    response = client.get(f"{ACTIONS}{action.pk}/")
    assert response.status_code == 200, response.content
    detail = response.json()["allowed_transitions"]
    listed = [
        row["allowed_transitions"]
        for row in client.get(ACTIONS).json()["results"]
        if row["id"] == action.pk
    ]
    assert listed == [detail]
    return detail


def test_the_close_button_appears_for_staff_only_after_submission(
    action, staff, partner, evaluator, api_as
):
    staff_api, partner_api = api_as(staff), api_as(partner)
    complete(action, staff)
    assert "close" not in transitions_seen(staff_api, action)
    evaluation = complete_evaluation(action, evaluator)
    assert "close" not in transitions_seen(staff_api, action)
    response = staff_api.post(f"{ACTIONS}{action.pk}/close/", {}, format="json")
    assert response.status_code == 409
    assert errors(response)[None] == [CLOSE_REFUSED]
    submit(evaluation, evaluator)
    assert "close" in transitions_seen(staff_api, action)
    assert "close" not in transitions_seen(partner_api, action)
    response = staff_api.post(f"{ACTIONS}{action.pk}/close/", {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "closed"
    assert transitions_seen(staff_api, action) == []
