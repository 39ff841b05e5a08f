"""Builders for the monitoring and evaluation tests: a running action whose period covers
today (so that measurements can be dated), indicators, measurements, a complete
evaluation — through the real services wherever a service exists.

Plain functions (not fixtures) so that a test can build several of each.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from actions import services as action_services
from actions.models import Action, Activity
from evaluations import services
from evaluations.models import FinalEvaluation, Indicator
from tests.actions.builders import advance, make_action

# The builder's action runs from 90 days ago to 90 days ahead.
PAST_DAYS, AHEAD_DAYS = 90, 90

COMPLETE_EVALUATION: dict[str, Any] = {
    **dict.fromkeys(("relevance", "coherence", "effectiveness", "efficiency"), 3),
    "impact": 2,
    "sustainability": 4,
    **{
        f"{name}_justification": f"Why {name} is rated so."
        for name in (
            "relevance",
            "coherence",
            "effectiveness",
            "efficiency",
            "impact",
            "sustainability",
        )
    },
    "findings": "The border agency adopted the SOPs.",
    "lessons": "Peer experts from the region were trusted fastest.",
    "recommendations": ["Train regional trainers.", "Extend the SOPs to airports."],
}


def running_action(
    partner: Any,
    staff: Any,
    approver: Any,
    *,
    evaluator: Any = None,
    state: str = "in_implementation",
    **kwargs: Any,
) -> Action:
    """An action of ``partner`` brought to ``state`` (as tests/actions/builders.advance),
    its period and activities then moved to cover today, ``evaluator`` assigned."""
    action = advance(
        make_action(partner, staff, **kwargs),
        state,
        staff=staff,
        approver=approver,
        partner=partner,
    )
    today = timezone.localdate()
    start, end = today - timedelta(days=PAST_DAYS), today + timedelta(days=AHEAD_DAYS)
    Action.objects.filter(pk=action.pk).update(start_date=start, end_date=end)
    Activity.objects.filter(action=action).update(
        start_date=today - timedelta(days=30), end_date=today - timedelta(days=28)
    )
    if evaluator is not None:
        action_services.action_update(
            action_id=action.pk, by=staff, data={"evaluators": [evaluator]}
        )
    return Action.objects.get(pk=action.pk)


def make_indicator(action: Action, by: Any, **data: Any) -> Indicator:
    """A quarterly organisational indicator, percentage, baseline 20, target 60."""
    values = {
        "name": "Share of border posts applying the SOPs",
        "level": "organisational",
        "unit": "percentage",
        "baseline": "20",
        "target": "60",
        "direction": "increase",
        "frequency": "quarterly",
        "means_of_verification": "Inspection reports",
        **data,
    }
    return services.indicator_create(action_id=action.pk, by=by, data=values)


def measure(indicator: Indicator, by: Any, value: Any, days_ago: int = 0, **data: Any) -> Any:
    day = timezone.localdate() - timedelta(days=days_ago)
    return services.measurement_record(
        indicator_id=indicator.pk, by=by, data={"date": day, "value": value, **data}
    )


def complete_evaluation(action: Action, evaluator: Any, **overrides: Any) -> FinalEvaluation:
    return services.evaluation_save(
        action_id=action.pk, by=evaluator, data={**COMPLETE_EVALUATION, **overrides}
    )


def submitted_evaluation(
    action: Action, evaluator: Any, *, staff: Any, approver: Any, partner: Any
) -> FinalEvaluation:
    """Bring ``action`` (in implementation) to completed and submit its evaluation."""
    if action.status == "in_implementation":
        action_services.action_transition(action_id=action.pk, name="complete", by=staff, text="")
    evaluation = complete_evaluation(action, evaluator)
    return services.evaluation_submit(evaluation_id=evaluation.pk, by=evaluator)


def days_ago(n: int) -> date:
    return timezone.localdate() - timedelta(days=n)


def resolved(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with each callable replaced by what it returns: a parametrised case whose
    date is relative to today is written as a lambda, so that it is computed when the test
    runs, not when pytest collects it (a suite that crosses midnight would otherwise send
    yesterday's "tomorrow")."""
    return {key: value() if callable(value) else value for key, value in values.items()}


def dec(value: str) -> Decimal:
    return Decimal(value)


# --- added for the services, workflow, selectors and notifications tests -----------------


def closed_action(partner: Any, staff: Any, approver: Any, *, evaluator: Any) -> Action:
    """A running action whose evaluation ``evaluator`` submitted and staff then closed."""
    action = running_action(partner, staff, approver, evaluator=evaluator)
    submitted_evaluation(action, evaluator, staff=staff, approver=approver, partner=partner)
    action_services.action_transition(action_id=action.pk, name="close", by=staff, text="")
    return Action.objects.get(pk=action.pk)


def cancelled_action(partner: Any, staff: Any, approver: Any, *, evaluator: Any) -> Action:
    """An approved action with ``evaluator`` assigned, then cancelled by staff (a cancelled
    action no longer takes evaluators, so they are assigned first)."""
    from tests.actions.builders import REASON

    action = running_action(partner, staff, approver, evaluator=evaluator, state="approved")
    action_services.action_transition(action_id=action.pk, name="cancel", by=staff, text=REASON)
    return Action.objects.get(pk=action.pk)


def engaged_expert(
    action: Action, staff: Any, state: str, *, user: Any = None, email: str = ""
) -> Any:
    """A roster profile deployed on ``action``'s first need, the deployment brought to
    ``state`` (tests/experts/builders.deployment_in). ``user`` then takes the profile over
    (the evaluator's own account holding it); ``email`` is the profile's address (an expert
    account of the same person under another login)."""
    from experts.models import Expert
    from tests.experts.builders import deployment_in, first_need, make_expert
    from tests.factories import UserFactory

    account = UserFactory(expert=True)
    extra = {"email": email} if email else {}
    profile = make_expert(account, by=staff, name="Nadia Benali", **extra)
    deployment = deployment_in(state, first_need(action), profile, staff=staff)
    if user is not None:
        Expert.objects.filter(pk=profile.pk).update(user=user)
    return deployment
