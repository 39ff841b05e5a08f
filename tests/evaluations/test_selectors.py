"""evaluations/selectors.py: what each role sees (indicators, measurements, outcomes,
feedback, evaluations), who counts as deployed on an action (conflict of interest), and
lists whose query count does not grow with the data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext

from actions.models import Activity
from evaluations import selectors, services
from evaluations.permissions import evaluation_of
from experts import services as expert_services
from tests.evaluations.builders import (
    complete_evaluation,
    engaged_expert,
    make_indicator,
    measure,
    running_action,
    submitted_evaluation,
)
from tests.experts.builders import DEPLOYMENT_STATES, REASON
from tests.factories import UserFactory


def activity_of(action: Any) -> Activity:
    return Activity.objects.filter(action=action).order_by("id").first()  # type: ignore[return-value]


def monitor(action: Any, by: Any, partner: Any, staff: Any, label: str) -> dict[str, Any]:
    """An indicator with a measurement, an outcome, a participant's and (when ``partner``)
    a partner's feedback on ``action``."""
    indicator = make_indicator(action, by, name=f"Indicator {label}")
    measurement = measure(indicator, by, "30", note=label)
    outcome = services.outcome_record(
        action_id=action.pk,
        by=by,
        data={
            "level": "individual",
            "description": f"Outcome {label}",
            "date": indicator.action.start_date,
        },
    )
    activity = activity_of(action)
    (link,) = services.feedback_links_create(activity_id=activity.pk, by=staff, count=1)
    participant = services.feedback_submit_by_link(token=link.token, data={"satisfaction": 3})
    result = {
        "indicator": indicator,
        "measurement": measurement,
        "outcome": outcome,
        "participant": participant,
    }
    if partner is not None:
        result["partner_feedback"] = services.feedback_submit(
            activity_id=activity.pk, by=partner, data={"satisfaction": 5}
        )
    return result


@pytest.fixture
def evaluator3(db: Any) -> Any:
    return UserFactory(username="evaluator3", evaluator=True)


@pytest.fixture
def world(partner, partner2, staff, approver, evaluator, evaluator3):
    """A: ``partner``'s running action, ``evaluator`` assigned, draft evaluation.
    C: ``partner``'s action, ``evaluator`` assigned, evaluation submitted.
    B: ``partner2``'s action, ``evaluator3`` assigned, evaluation submitted.
    D: ``partner``'s action still in design (an indicator only; partners do not see it)."""
    a = running_action(partner, staff, approver, evaluator=evaluator, title="A")
    b = running_action(partner2, staff, approver, evaluator=evaluator3, title="B")
    c = running_action(partner, staff, approver, evaluator=evaluator, title="C")
    d = running_action(partner, staff, approver, state="design", title="D")
    data = {
        "A": monitor(a, evaluator, partner, staff, "A"),
        "B": monitor(b, evaluator3, partner2, staff, "B"),
        "C": monitor(c, staff, None, staff, "C"),
        "D": {"indicator": make_indicator(d, staff, name="Indicator D")},
    }
    data["A"]["evaluation"] = complete_evaluation(a, evaluator)
    data["B"]["evaluation"] = submitted_evaluation(
        b, evaluator3, staff=staff, approver=approver, partner=partner2
    )
    data["C"]["evaluation"] = submitted_evaluation(
        c, evaluator, staff=staff, approver=approver, partner=partner
    )
    return data


def pks(qs: Any) -> set[int]:
    return set(qs.values_list("pk", flat=True))


def of(world: dict[str, Any], kind: str, *labels: str) -> set[int]:
    return {world[label][kind].pk for label in labels if kind in world[label]}


EVERYTHING = ("A", "B", "C", "D")
# persona → (actions whose monitoring data they see, feedback they see, evaluations they see)
SCOPES: dict[str, tuple[tuple[str, ...], set[tuple[str, str]], tuple[str, ...]]] = {
    "staff": (
        EVERYTHING,
        {("A", "participant"), ("A", "partner_feedback"), ("B", "participant")}
        | {("B", "partner_feedback"), ("C", "participant")},
        ("A", "B", "C"),
    ),
    "approver": (
        EVERYTHING,
        {("A", "participant"), ("A", "partner_feedback"), ("B", "participant")}
        | {("B", "partner_feedback"), ("C", "participant")},
        ("A", "B", "C"),
    ),
    "evaluator": (
        ("A", "C"),
        {("A", "participant"), ("A", "partner_feedback"), ("C", "participant")},
        ("A", "C"),
    ),
    "evaluator3": (
        ("B",),
        {("B", "participant"), ("B", "partner_feedback")},
        ("B",),
    ),
    # Partners: their organisation's approved actions; only their focal points' feedback;
    # only submitted evaluations.
    "partner": (("A", "C"), {("A", "partner_feedback")}, ("C",)),
    "partner2": (("B",), {("B", "partner_feedback")}, ("B",)),
    "evaluator2": ((), set(), ()),
    "expert": ((), set(), ()),
}


@pytest.mark.parametrize("persona", sorted(SCOPES))
def test_each_role_sees_its_scope(world, personas, evaluator2, evaluator3, persona):
    user = {**personas, "evaluator2": evaluator2, "evaluator3": evaluator3}[persona]
    actions, feedback, evaluations = SCOPES[persona]
    assert pks(selectors.indicators_for(user)) == of(world, "indicator", *actions)
    assert pks(selectors.indicator_list(user)) == of(world, "indicator", *actions)
    assert pks(selectors.measurements_for(user)) == of(world, "measurement", *actions)
    assert pks(selectors.outcomes_for(user)) == of(world, "outcome", *actions)
    assert pks(selectors.feedback_for(user)) == {world[a][kind].pk for a, kind in feedback}
    assert pks(selectors.evaluations_for(user)) == of(world, "evaluation", *evaluations)


def test_the_administrator_sees_everything(world, admin_user):
    assert pks(selectors.indicators_for(admin_user)) == of(world, "indicator", *EVERYTHING)
    assert pks(selectors.evaluations_for(admin_user)) == of(world, "evaluation", "A", "B", "C")


def test_anonymous_visitors_see_nothing(world):
    anonymous = AnonymousUser()
    for reader in (
        selectors.indicators_for,
        selectors.measurements_for,
        selectors.outcomes_for,
        selectors.feedback_for,
        selectors.evaluations_for,
    ):
        assert not reader(anonymous).exists()


def test_details_outside_the_scope_are_not_found(world, partner, partner2, evaluator2):
    from cbportal.core.errors import NotFound

    mine = world["A"]["indicator"]
    assert selectors.indicator_detail(partner, mine.pk) == mine
    for user in (partner2, evaluator2):
        with pytest.raises(NotFound):
            selectors.indicator_detail(user, mine.pk)
    with pytest.raises(NotFound):
        selectors.indicator_detail(partner, "abc")
    draft = world["A"]["evaluation"]
    with pytest.raises(NotFound):
        selectors.evaluation_detail(partner, draft.pk)  # a draft is not the partner's yet
    assert selectors.evaluation_detail(partner, world["C"]["evaluation"].pk).pk == (
        world["C"]["evaluation"].pk
    )
    with pytest.raises(NotFound):
        selectors.evaluation_detail(partner2, world["C"]["evaluation"].pk)
    with pytest.raises(NotFound):
        selectors.monitored_action(partner2, world["A"]["indicator"].action_id)
    with pytest.raises(NotFound):
        selectors.monitored_action(partner, world["D"]["indicator"].action_id)


def test_unassigning_an_evaluator_hides_the_action_again(world, staff, evaluator):
    from actions import services as action_services

    a_action = world["A"]["indicator"].action
    action_services.action_update(action_id=a_action.pk, by=staff, data={"evaluators": []})
    assert pks(selectors.indicators_for(evaluator)) == of(world, "indicator", "C")
    assert pks(selectors.evaluations_for(evaluator)) == of(world, "evaluation", "C")
    assert pks(selectors.feedback_for(evaluator)) == of(world, "participant", "C")


def test_a_partner_counts_only_its_own_feedback_in_the_activity_summary(world, partner, staff):
    a_action = world["A"]["indicator"].action
    (row_staff,) = selectors.activity_feedback(staff, a_action)
    (row_partner,) = selectors.activity_feedback(partner, a_action)
    assert (row_staff.responses, row_staff.participant_satisfaction) == (2, 3)
    assert row_staff.partner_satisfaction == 5
    assert (row_partner.responses, row_partner.participant_satisfaction) == (1, None)
    assert row_partner.partner_satisfaction == 5
    assert (row_staff.links, row_staff.links_unused) == (1, 0)


# --- deployed_on_action ------------------------------------------------------------------------

ENGAGED = {"accepted", "confirmed", "completed", "cancelled"}


@pytest.mark.parametrize("state", DEPLOYMENT_STATES)
def test_who_counts_as_deployed(action, staff, evaluator, state):
    engaged_expert(action, staff, state, email=evaluator.email.swapcase())
    assert selectors.deployed_on_action(evaluator, action.pk) is (state in ENGAGED)


@pytest.mark.parametrize("state", DEPLOYMENT_STATES)
def test_the_evaluators_own_profile_counts_too(action, staff, evaluator, state):
    engaged_expert(action, staff, state, user=evaluator)
    assert selectors.deployed_on_action(evaluator, action.pk) is (state in ENGAGED)


def test_an_invitation_cancelled_before_it_was_accepted_is_no_conflict(action, staff, evaluator):
    invited = engaged_expert(action, staff, "invited", user=evaluator)
    expert_services.deployment_cancel(deployment_id=invited.pk, by=staff, reason=REASON)
    assert not selectors.deployed_on_action(evaluator, action.pk)


def test_an_accepted_deployment_cancelled_later_still_counts(action, staff, evaluator):
    accepted = engaged_expert(action, staff, "accepted", user=evaluator)
    expert_services.deployment_cancel(deployment_id=accepted.pk, by=staff, reason=REASON)
    assert selectors.deployed_on_action(evaluator, action.pk)


def test_only_this_action_counts(action, partner, staff, approver, evaluator):
    elsewhere = running_action(partner, staff, approver, title="Elsewhere")
    engaged_expert(elsewhere, staff, "completed", user=evaluator)
    assert selectors.deployed_on_action(evaluator, elsewhere.pk)
    assert not selectors.deployed_on_action(evaluator, action.pk)


def test_someone_elses_deployment_does_not_count(action, staff, evaluator):
    engaged_expert(action, staff, "confirmed")
    assert not selectors.deployed_on_action(evaluator, action.pk)


def test_a_blank_address_matches_no_profile_with_a_blank_address(action, staff, evaluator):
    deployment = engaged_expert(action, staff, "confirmed")
    deployment.expert.__class__.objects.filter(pk=deployment.expert_id).update(email="")
    deployment.expert.user.__class__.objects.filter(pk=deployment.expert.user_id).update(email="")
    evaluator.email = ""
    evaluator.save(update_fields=["email"])
    assert not selectors.deployed_on_action(evaluator, action.pk)


def test_conflicted_evaluators_picks_those_deployed(action, staff, evaluator, evaluator2):
    engaged_expert(action, staff, "accepted", email=evaluator2.email)
    assert selectors.conflicted_evaluators(action.pk, [evaluator, evaluator2]) == [evaluator2]
    assert selectors.conflicted_evaluators(action.pk, []) == []


# --- query counts ------------------------------------------------------------------------------


def queries(fn: Callable[[], Any]) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def read_indicators(user: Any) -> None:
    for indicator in selectors.indicator_list(user):
        str(indicator.action.reference)
        str(indicator.objective)
        for measurement in indicator.measurements.all():
            str(measurement.recorded_by.display_name)


def read_records(user: Any) -> None:
    for measurement in selectors.measurements_for(user):
        str((measurement.indicator.name, measurement.indicator.action.reference))
        str(measurement.recorded_by.display_name)
    for outcome in selectors.outcomes_for(user):
        str((outcome.action.reference, outcome.recorded_by.display_name))
    for feedback in selectors.feedback_for(user):
        str((feedback.activity.title, feedback.activity.action.reference))


def read_evaluations(user: Any) -> None:
    for evaluation in selectors.evaluations_for(user):
        str((evaluation.action.reference, evaluation.action.organisation.name))
        str((evaluation.action.country, evaluation.submitted_by))
        for recommendation in evaluation.recommendations.all():
            str((recommendation.text, recommendation.follow_up_request))


def read_home(user: Any) -> None:
    for action in selectors.evaluator_home(user):
        str((action.organisation.name, action.country, action.indicator_count))
        str(evaluation_of(action))


@pytest.mark.parametrize("persona", ["staff", "evaluator", "partner"])
def test_lists_cost_the_same_number_of_queries_with_more_data(
    partner, staff, approver, evaluator, personas, persona
):
    user = personas[persona]
    readers = (read_indicators, read_records, read_evaluations, read_home)
    first = running_action(partner, staff, approver, evaluator=evaluator, title="One")
    monitor(first, evaluator, partner, staff, "1")
    submitted_evaluation(first, evaluator, staff=staff, approver=approver, partner=partner)
    small = [queries(lambda r=reader: r(user)) for reader in readers]
    for label in ("2", "3"):
        more = running_action(partner, staff, approver, evaluator=evaluator, title=label)
        data = monitor(more, evaluator, None, staff, label)
        measure(data["indicator"], evaluator, "40", days_ago=5)
        make_indicator(more, evaluator, name=f"Second indicator {label}")
        submitted_evaluation(more, evaluator, staff=staff, approver=approver, partner=partner)
    large = [queries(lambda r=reader: r(user)) for reader in readers]
    assert large == small
