"""The state machines of actions and amendments (read them as tables)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from actions.models import ActionStatus, AmendmentStatus
from cbportal.core.workflow import Transition, Workflow, deep, register

S = ActionStatus
M = AmendmentStatus


def not_the_proposer(obj: Any, user: Any) -> str | None:
    """Four eyes: the approver neither drafted nor proposed it."""
    if obj.proposed_by_id == user.pk or obj.drafted_by_id == user.pk:
        return _("You drafted or proposed this; another approver must approve it (four-eyes rule).")
    return None


@deep
def plan_is_complete(action: Any, user: Any) -> str | None:
    """The plan has objectives (each closing a gap) and activities inside the period."""
    from actions.plan import plan_problems, snapshot

    problems = plan_problems(snapshot(action), action)
    if problems:
        return _("The plan is not ready: %(problems)s") % {"problems": " ".join(problems)}
    return None


def not_yet_signed(action: Any, user: Any) -> str | None:
    """The partner has not co-signed the plan yet."""
    if action.signed_at is not None:
        return _("The partner has already co-signed this plan.")
    return None


def co_signed(action: Any, user: Any) -> str | None:
    """The partner has co-signed the plan."""
    if action.signed_at is None:
        return _("The partner must co-sign the plan before it starts.")
    return None


def evaluation_submitted(action: Any, user: Any) -> str | None:
    """A final evaluation of the action has been submitted."""
    has = getattr(action, "has_submitted_evaluation", None)
    if not (has() if callable(has) else False):
        return _("An action can be closed only after its final evaluation is submitted.")
    return None


def no_open_amendment(action: Any, user: Any) -> str | None:
    """No amendment is waiting for approval or signature."""
    # Lists annotate ``open_amendments`` so that this costs no query per row.
    count = getattr(action, "open_amendments", None)
    if count is None:
        count = action.amendments.filter(status__in=[M.DRAFT, M.PROPOSED, M.APPROVED]).count()
    if count:
        return _("Finish or reject the amendment in progress first.")
    return None


ACTION_WORKFLOW = register(
    Workflow(
        model="actions.Action",
        states=ActionStatus,
        transitions=[
            Transition(
                "propose",
                [S.DESIGN],
                S.PROPOSED,
                roles=["staff"],
                guards=[plan_is_complete],
                label=gettext_lazy("propose for approval"),
            ),
            Transition(
                "return",
                [S.PROPOSED],
                S.DESIGN,
                roles=["approver"],
                requires_comment=True,
                label=gettext_lazy("return to design"),
            ),
            Transition(
                "approve",
                [S.PROPOSED],
                S.APPROVED,
                roles=["approver"],
                guards=[not_the_proposer],
                label=gettext_lazy("approve"),
            ),
            Transition(
                "sign",
                [S.APPROVED],
                S.APPROVED,
                roles=["partner"],
                guards=[not_yet_signed],
                label=gettext_lazy("co-sign the plan"),
            ),
            Transition(
                "start",
                [S.APPROVED],
                S.IN_IMPLEMENTATION,
                roles=["staff"],
                guards=[co_signed],
                label=gettext_lazy("start implementation"),
            ),
            Transition(
                "complete",
                [S.IN_IMPLEMENTATION],
                S.COMPLETED,
                roles=["staff"],
                guards=[no_open_amendment],
                label=gettext_lazy("complete"),
            ),
            Transition(
                "close",
                [S.COMPLETED],
                S.CLOSED,
                roles=["staff"],
                guards=[evaluation_submitted],
                label=gettext_lazy("close"),
            ),
            Transition(
                "suspend",
                [S.APPROVED, S.IN_IMPLEMENTATION],
                S.SUSPENDED,
                roles=["staff"],
                requires_comment=True,
                label=gettext_lazy("suspend"),
            ),
            Transition(
                "resume",
                [S.SUSPENDED],
                S.IN_IMPLEMENTATION,
                roles=["staff"],
                requires_comment=True,
                dynamic_target=lambda a: a.status_before_suspension or S.IN_IMPLEMENTATION,
                label=gettext_lazy("resume"),
            ),
            Transition(
                "cancel",
                [S.DESIGN, S.PROPOSED, S.APPROVED, S.IN_IMPLEMENTATION, S.SUSPENDED],
                S.CANCELLED,
                roles=["staff"],
                requires_comment=True,
                label=gettext_lazy("cancel"),
            ),
        ],
    )
)


@deep
def amendment_changes_something(amendment: Any, user: Any) -> str | None:
    """The amendment changes the plan."""
    from actions.plan import diff

    if not diff(amendment.before, amendment.proposal):
        return _("This amendment changes nothing yet.")
    return None


@deep
def amendment_plan_valid(amendment: Any, user: Any) -> str | None:
    """The amended plan is complete and consistent."""
    from actions.plan import plan_problems

    problems = plan_problems(amendment.proposal, amendment.action)
    if problems:
        return _("The amended plan is not ready: %(problems)s") % {"problems": " ".join(problems)}
    return None


AMENDMENT_WORKFLOW = register(
    Workflow(
        model="actions.Amendment",
        states=AmendmentStatus,
        transitions=[
            Transition(
                "propose",
                [M.DRAFT],
                M.PROPOSED,
                roles=["staff"],
                guards=[amendment_changes_something, amendment_plan_valid],
                label=gettext_lazy("propose for approval"),
            ),
            Transition(
                "approve",
                [M.PROPOSED],
                M.APPROVED,
                roles=["approver"],
                guards=[not_the_proposer],
                label=gettext_lazy("approve"),
            ),
            Transition(
                "reject",
                [M.PROPOSED],
                M.REJECTED,
                roles=["approver"],
                requires_comment=True,
                label=gettext_lazy("reject"),
            ),
            Transition(
                "sign",
                [M.APPROVED],
                M.APPLIED,
                roles=["partner"],
                label=gettext_lazy("co-sign and apply"),
            ),
            Transition(
                "decline",
                [M.APPROVED],
                M.REJECTED,
                roles=["partner"],
                requires_comment=True,
                label=gettext_lazy("decline to co-sign"),
            ),
            Transition(
                "discard",
                [M.DRAFT, M.PROPOSED],
                M.REJECTED,
                roles=["staff"],
                requires_comment=True,
                label=gettext_lazy("discard"),
            ),
        ],
    )
)
