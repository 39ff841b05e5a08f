"""The state machines of assistance requests and needs assessments (read them as tables)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cbportal.core.workflow import Transition, Workflow, register
from requests_app.models import AssessmentStatus, RequestStatus

S = RequestStatus
A = AssessmentStatus


def is_case_officer_or_unassigned(request: Any, user: Any) -> str | None:
    """Only the case officer (or anyone, while none is assigned) may decide."""
    if request.case_officer_id and request.case_officer_id != user.pk:
        return _("Only the case officer, %(name)s, can do this.") % {
            "name": request.case_officer.display_name
        }
    return None


def has_a_gap(assessment: Any, user: Any) -> str | None:
    """The assessment records at least one capacity gap."""
    if not assessment.gaps.all():  # uses the prefetched gaps on list pages
        return _("Add at least one capacity gap before sharing the assessment.")
    return None


REQUEST_WORKFLOW = register(
    Workflow(
        model="requests_app.AssistanceRequest",
        states=RequestStatus,
        transitions=[
            Transition(
                "submit", [S.DRAFT], S.SUBMITTED, roles=["partner"], label=gettext_lazy("submit")
            ),
            Transition(
                "start-review",
                [S.SUBMITTED],
                S.UNDER_REVIEW,
                roles=["staff"],
                label=gettext_lazy("start review"),
            ),
            Transition(
                "request-info",
                [S.SUBMITTED, S.UNDER_REVIEW],
                S.INFO_REQUESTED,
                roles=["staff"],
                guards=[is_case_officer_or_unassigned],
                requires_comment=True,
                label=gettext_lazy("request information"),
            ),
            Transition(
                "respond",
                [S.INFO_REQUESTED],
                S.UNDER_REVIEW,
                roles=["partner"],
                requires_comment=True,
                label=gettext_lazy("respond"),
            ),
            Transition(
                "accept",
                [S.UNDER_REVIEW],
                S.ACCEPTED,
                roles=["staff"],
                guards=[is_case_officer_or_unassigned],
                label=gettext_lazy("accept"),
            ),
            Transition(
                "decline",
                [S.UNDER_REVIEW, S.INFO_REQUESTED],
                S.DECLINED,
                roles=["staff"],
                guards=[is_case_officer_or_unassigned],
                requires_comment=True,
                label=gettext_lazy("decline"),
            ),
            Transition(
                "withdraw",
                [S.DRAFT, S.SUBMITTED, S.UNDER_REVIEW, S.INFO_REQUESTED],
                S.WITHDRAWN,
                roles=["partner"],
                label=gettext_lazy("withdraw"),
            ),
        ],
    )
)

ASSESSMENT_WORKFLOW = register(
    Workflow(
        model="requests_app.NeedsAssessment",
        states=AssessmentStatus,
        transitions=[
            Transition(
                "share",
                [A.IN_PROGRESS],
                A.SHARED,
                roles=["staff"],
                guards=[has_a_gap],
                label=gettext_lazy("share"),
            ),
            Transition(
                "return",
                [A.SHARED],
                A.IN_PROGRESS,
                roles=["partner"],
                requires_comment=True,
                label=gettext_lazy("return"),
            ),
            Transition(
                "validate",
                [A.SHARED],
                A.VALIDATED,
                roles=["partner"],
                label=gettext_lazy("validate"),
            ),
        ],
    )
)
