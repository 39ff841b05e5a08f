"""The state machine of the final evaluation (read it as a table)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from actions.models import ActionStatus
from cbportal.core.workflow import Transition, Workflow, deep, register
from evaluations.models import DAC_CRITERIA, EvaluationStatus

E = EvaluationStatus


def assigned_evaluator(evaluation: Any, user: Any) -> str | None:
    """The evaluator is assigned to the action."""
    # Pages and the API annotate ``is_assigned`` so that lists cost no query per row.
    assigned = getattr(evaluation, "is_assigned", None)
    if assigned is None:
        assigned = evaluation.action.evaluators.filter(pk=user.pk).exists()
    if not assigned:
        return _("Only an evaluator assigned to this action can submit its evaluation.")
    return None


@deep
def no_conflict_of_interest(evaluation: Any, user: Any) -> str | None:
    """The evaluator was not deployed as an expert on the action."""
    from evaluations.selectors import deployed_on_action

    if deployed_on_action(user, evaluation.action_id):
        return _(
            "You were deployed as an expert on this action, so you cannot evaluate it "
            "(conflict of interest). Programme staff will assign another evaluator."
        )
    return None


def action_completed(evaluation: Any, user: Any) -> str | None:
    """The action's implementation is complete."""
    if evaluation.action.status != ActionStatus.COMPLETED:
        return _("The final evaluation can be submitted once the action is completed.")
    return None


def evaluation_complete(evaluation: Any, user: Any) -> str | None:
    """Every criterion is rated 1–4 with a justification; findings and lessons are written."""
    problems = evaluation_problems(evaluation)
    if problems:
        return _("The evaluation is not complete: %(problems)s") % {"problems": " ".join(problems)}
    return None


def evaluation_problems(evaluation: Any) -> list[str]:
    problems = []
    for name, label in DAC_CRITERIA:
        rating = getattr(evaluation, name)
        if rating is None or not 1 <= rating <= 4:
            problems.append(
                _("Rate %(criterion)s from 1 to 4.") % {"criterion": str(label).lower()}
            )
        elif not getattr(evaluation, f"{name}_justification").strip():
            problems.append(
                _("Justify the rating of %(criterion)s.") % {"criterion": str(label).lower()}
            )
    if not evaluation.findings.strip():
        problems.append(_("Write the findings."))
    if not evaluation.lessons.strip():
        problems.append(_("Write the lessons learned."))
    return problems


EVALUATION_WORKFLOW = register(
    Workflow(
        model="evaluations.FinalEvaluation",
        states=EvaluationStatus,
        transitions=[
            Transition(
                "submit",
                [E.DRAFT],
                E.SUBMITTED,
                roles=["evaluator"],
                guards=[
                    assigned_evaluator,
                    action_completed,
                    evaluation_complete,
                    no_conflict_of_interest,
                ],
                label=gettext_lazy("submit the evaluation"),
            ),
        ],
    )
)
