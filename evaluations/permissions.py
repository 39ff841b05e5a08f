"""Who may see and change monitoring and evaluation records (pages and API alike).

Everyone who may see an action (staff, the partner once the plan was approved for them,
its assigned evaluators) sees its indicators, measurements, outcomes and feedback; only
staff and the assigned evaluators record them. The final evaluation is written by an
assigned evaluator; the partner reads it once it is submitted.
"""

from __future__ import annotations

from typing import Any

from actions.models import Action, ActionStatus
from actions.permissions import can_view_action
from cbportal.accounts.permissions import is_staff
from evaluations.models import EvaluationStatus, FinalEvaluation

# Monitoring runs from approval until the action is closed (or cancelled).
MONITORED_STATES = (
    ActionStatus.APPROVED,
    ActionStatus.IN_IMPLEMENTATION,
    ActionStatus.SUSPENDED,
    ActionStatus.COMPLETED,
)
# Indicators can be planned while the action is designed, and kept up to date afterwards.
INDICATOR_STATES = (ActionStatus.DESIGN, ActionStatus.PROPOSED, *MONITORED_STATES)
# Participants and the partner give feedback on activities of running or finished actions.
FEEDBACK_STATES = (ActionStatus.IN_IMPLEMENTATION, ActionStatus.SUSPENDED, ActionStatus.COMPLETED)


def is_assigned_evaluator(user: Any, action: Action) -> bool:
    if not user.is_authenticated or user.role != "evaluator":
        return False
    assigned = getattr(action, "user_is_evaluator", None)  # annotated by selectors
    if assigned is not None:
        return bool(assigned)
    return action.evaluators.filter(pk=user.pk).exists()


def can_monitor(user: Any, action: Action) -> bool:
    """Record measurements and outcomes."""
    return action.status in MONITORED_STATES and (
        is_staff(user) or is_assigned_evaluator(user, action)
    )


def can_edit_indicators(user: Any, action: Action) -> bool:
    return action.status in INDICATOR_STATES and (
        is_staff(user) or is_assigned_evaluator(user, action)
    )


def collects_feedback(action: Action) -> bool:
    return action.status in FEEDBACK_STATES


def can_manage_feedback_links(user: Any, action: Action) -> bool:
    return is_staff(user) and collects_feedback(action)


def can_give_partner_feedback(user: Any, action: Action) -> bool:
    return (
        user.is_authenticated
        and user.role == "partner"
        and user.organisation_id == action.organisation_id
        and collects_feedback(action)
    )


def can_view_evaluation(user: Any, evaluation: FinalEvaluation) -> bool:
    action = evaluation.action
    if not can_view_action(user, action):
        return False
    if user.role == "partner":
        return evaluation.status == EvaluationStatus.SUBMITTED
    return True


def can_write_evaluation(user: Any, action: Action) -> bool:
    """Start or edit the draft: an assigned evaluator, while the action is monitored."""
    evaluation = evaluation_of(action)
    if evaluation is not None and evaluation.status != EvaluationStatus.DRAFT:
        return False
    return action.status in MONITORED_STATES and is_assigned_evaluator(user, action)


def can_follow_up(user: Any, evaluation: FinalEvaluation) -> bool:
    """Staff turn a recommendation of a submitted evaluation into a new draft request."""
    return is_staff(user) and evaluation.status == EvaluationStatus.SUBMITTED


def evaluation_of(action: Action) -> FinalEvaluation | None:
    """The action's final evaluation, or None (the reverse one-to-one raises when absent)."""
    try:
        return action.evaluation
    except FinalEvaluation.DoesNotExist:
        return None
