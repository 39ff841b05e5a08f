"""The state machines of the roster: deployments and vetting (read them as tables)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from actions.models import ActionStatus
from cbportal.core.models import AuditKind
from cbportal.core.workflow import Transition, Workflow, register
from experts.models import DeploymentStatus, VettingStatus

D = DeploymentStatus
V = VettingStatus

# Actions on which experts may be invited and confirmed: the plan is agreed.
DEPLOYABLE_ACTION_STATES = (ActionStatus.APPROVED, ActionStatus.IN_IMPLEMENTATION)


class SystemActor:
    """Who fires scheduled transitions (invitation expiry): the role ``system``. ``now`` is
    the time the scheduled job runs for (guards read it instead of the clock)."""

    pk = None
    workflow_roles = frozenset({"system"})
    display_name = "system"

    def __init__(self, now: Any = None) -> None:
        self.now = now


SYSTEM = SystemActor()


def _now(user: Any) -> Any:
    return getattr(user, "now", None) or timezone.now()


def action_is_running(deployment: Any, user: Any) -> str | None:
    """The action is approved or in implementation."""
    action = deployment.need.activity.action
    if action.status not in DEPLOYABLE_ACTION_STATES:
        return _(
            "Experts are invited and confirmed on an approved action (this one is %(state)s)."
        ) % {"state": action.get_status_display().lower()}
    return None


def expert_is_eligible(deployment: Any, user: Any) -> str | None:
    """The expert is active, vetted, has an account and agrees to be contacted."""
    expert = deployment.expert
    if not expert.is_eligible:
        return _("Only active, vetted experts can be invited.")
    if expert.user_id is None:
        return _("This expert has no CB Portal account to answer an invitation with.")
    if not expert.consent_contact:
        return _("This expert has not agreed to be contacted about missions.")
    return None


def invitation_is_open(deployment: Any, user: Any) -> str | None:
    """The invitation has not expired."""
    if deployment.expires_at is not None and deployment.expires_at <= timezone.now():
        return _("This invitation expired on %(date)s; it can no longer be answered.") % {
            "date": timezone.localtime(deployment.expires_at).strftime("%Y-%m-%d %H:%M")
        }
    return None


def invitation_is_past_expiry(deployment: Any, user: Any) -> str | None:
    """The invitation's expiry date has passed."""
    if deployment.expires_at is None or deployment.expires_at > _now(user):
        return _("This invitation has not expired yet.")
    return None


def the_invited_expert(deployment: Any, user: Any) -> str | None:
    """Only the invited expert answers."""
    if deployment.expert.user_id != user.pk:
        return _("Only the invited expert can answer this invitation.")
    return None


def report_submitted(deployment: Any, user: Any) -> str | None:
    """The expert has filed the mission report."""
    if not hasattr(deployment, "report"):
        return _("The deployment is completed once the expert has filed the mission report.")
    return None


DEPLOYMENT_WORKFLOW = register(
    Workflow(
        model="experts.Deployment",
        states=DeploymentStatus,
        transitions=[
            Transition(
                "invite",
                [D.SHORTLISTED],
                D.INVITED,
                roles=["staff"],
                guards=[action_is_running, expert_is_eligible],
                label=gettext_lazy("invite"),
            ),
            Transition(
                "accept",
                [D.INVITED],
                D.ACCEPTED,
                roles=["expert"],
                guards=[the_invited_expert, invitation_is_open],
                label=gettext_lazy("accept the invitation"),
            ),
            Transition(
                "decline",
                [D.INVITED],
                D.DECLINED,
                roles=["expert"],
                guards=[the_invited_expert, invitation_is_open],
                requires_comment=True,
                label=gettext_lazy("decline the invitation"),
            ),
            Transition(
                "expire",
                [D.INVITED],
                D.EXPIRED,
                roles=["system"],
                guards=[invitation_is_past_expiry],
                label=gettext_lazy("expire the invitation"),
            ),
            Transition(
                "confirm",
                [D.ACCEPTED],
                D.CONFIRMED,
                roles=["staff"],
                guards=[action_is_running],
                label=gettext_lazy("confirm the mission"),
            ),
            Transition(
                "complete",
                [D.CONFIRMED],
                D.COMPLETED,
                roles=["staff"],
                guards=[report_submitted],
                label=gettext_lazy("complete"),
            ),
            Transition(
                "cancel",
                [D.SHORTLISTED, D.INVITED, D.ACCEPTED, D.CONFIRMED],
                D.CANCELLED,
                roles=["staff"],
                requires_comment=True,
                label=gettext_lazy("cancel"),
            ),
        ],
    )
)


VETTING_WORKFLOW = register(
    Workflow(
        model="experts.Expert",
        states=VettingStatus,
        state_field="vetting_status",
        audit_kind=AuditKind.VETTING,
        transitions=[
            Transition(
                "approve",
                [V.PENDING, V.REJECTED],
                V.APPROVED,
                roles=["staff"],
                label=gettext_lazy("approve for the roster"),
            ),
            Transition(
                "reject",
                [V.PENDING, V.APPROVED],
                V.REJECTED,
                roles=["staff"],
                requires_comment=True,
                label=gettext_lazy("reject"),
            ),
        ],
    )
)
