"""Reads of requests and assessments, already scoped to what the user may see."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from cbportal.accounts.permissions import is_staff
from cbportal.core.errors import NotFound
from requests_app.models import (
    AssistanceRequest,
    CapacityGap,
    NeedsAssessment,
    RequestStatus,
)


def requests_for(user: Any) -> QuerySet[AssistanceRequest]:
    """Staff see every request; partners their organisation's; experts and evaluators none."""
    qs = AssistanceRequest.objects.all()
    if not user.is_authenticated:
        return qs.none()
    if is_staff(user):
        return qs
    if user.role == "partner" and user.organisation_id:
        return qs.filter(organisation_id=user.organisation_id)
    return qs.none()


def request_list(user: Any) -> QuerySet[AssistanceRequest]:
    """What list pages and the API list need, in a constant number of queries."""
    return (
        requests_for(user)
        .select_related("organisation", "country", "case_officer")
        .prefetch_related("thematic_areas", "gcm_objectives", "languages")
    )


def request_detail(user: Any, pk: int) -> AssistanceRequest:
    try:
        return (
            request_list(user)
            .prefetch_related("messages", "attachments")
            .select_related("created_by")
            .get(pk=pk)
        )
    except (AssistanceRequest.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def triage_queue(user: Any) -> QuerySet[AssistanceRequest]:
    """Open requests, oldest submission first."""
    return (
        request_list(user)
        .filter(
            status__in=[
                RequestStatus.SUBMITTED,
                RequestStatus.UNDER_REVIEW,
                RequestStatus.INFO_REQUESTED,
            ]
        )
        .order_by("submitted_at", "id")
    )


def assessments_for(user: Any) -> QuerySet[NeedsAssessment]:
    qs = NeedsAssessment.objects.all()
    if not user.is_authenticated:
        return qs.none()
    if is_staff(user):
        return qs
    if user.role == "partner" and user.organisation_id:
        return qs.filter(request__organisation_id=user.organisation_id)
    return qs.none()


def assessment_list(user: Any) -> QuerySet[NeedsAssessment]:
    return (
        assessments_for(user)
        .select_related("request", "request__organisation", "request__country", "owner")
        .prefetch_related(
            Prefetch("gaps", queryset=CapacityGap.objects.order_by("level", "position", "id"))
        )
    )


def assessment_detail(user: Any, pk: int) -> NeedsAssessment:
    try:
        return assessment_list(user).get(pk=pk)
    except (NeedsAssessment.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def partner_assessments_to_review(user: Any) -> QuerySet[NeedsAssessment]:
    return assessment_list(user).filter(status="shared")
