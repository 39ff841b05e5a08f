"""Who may see and change requests and assessments (used by pages and API alike)."""

from __future__ import annotations

from typing import Any

from cbportal.accounts.permissions import is_staff
from requests_app.models import AssistanceRequest, NeedsAssessment, RequestStatus


def can_view_request(user: Any, request: AssistanceRequest) -> bool:
    if not user.is_authenticated:
        return False
    if is_staff(user):
        return True
    return bool(user.role == "partner" and user.organisation_id == request.organisation_id)


def can_create_request(user: Any) -> bool:
    return bool(user.is_authenticated and user.role == "partner" and user.organisation_id)


def can_edit_request(user: Any, request: AssistanceRequest) -> bool:
    """Partners edit their organisation's drafts; after submission only ``respond`` changes it."""
    return (
        can_create_request(user)
        and user.organisation_id == request.organisation_id
        and request.status == RequestStatus.DRAFT
    )


def can_add_attachment(user: Any, request: AssistanceRequest) -> bool:
    if not can_view_request(user, request):
        return False
    if is_staff(user):
        return request.status in (
            RequestStatus.SUBMITTED,
            RequestStatus.UNDER_REVIEW,
            RequestStatus.INFO_REQUESTED,
        )
    return request.status in (RequestStatus.DRAFT, RequestStatus.INFO_REQUESTED)


def can_view_assessment(user: Any, assessment: NeedsAssessment) -> bool:
    return can_view_request(user, assessment.request)


def can_edit_assessment(user: Any, assessment: NeedsAssessment) -> bool:
    return is_staff(user) and assessment.status == "in_progress"
