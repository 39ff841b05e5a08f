"""Fixtures for the requests_app tests: complete drafts, requests and needs assessments in
every state, built through the services so that each one went the way a real case goes.

``request_in("accepted")`` returns the partner's request after ``staff`` (the case officer)
accepted it; ``assessment_in("shared")`` returns its needs assessment with one capacity gap,
shared with the partner.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from cbportal.core.models import GcmObjective, Language, ThematicArea, TransitionEvent
from requests_app import services
from requests_app.models import AssistanceRequest, NeedsAssessment

COMPLETE_DRAFT: dict[str, Any] = {
    "title": "Strengthening the asylum registration system",
    "problem_statement": "Registration of asylum claims takes four months on average.",
    "expected_outcomes": "A registration procedure that takes two weeks.",
    "target_institutions": "Directorate of Migration, asylum registration unit",
}


def complete_draft_data(**overrides: Any) -> dict[str, Any]:
    today = timezone.localdate()
    data: dict[str, Any] = {
        **COMPLETE_DRAFT,
        "preferred_start": today + timedelta(days=30),
        "preferred_end": today + timedelta(days=120),
        "thematic_areas": [ThematicArea.objects.get(slug="protection")],
        "gcm_objectives": [GcmObjective.objects.get(number=23)],
        "languages": [Language.objects.get(code="en"), Language.objects.get(code="fr")],
    }
    data.update(overrides)
    return data


def events_for(obj: Any) -> Any:
    """The transition events of ``obj``, oldest first."""
    return TransitionEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk
    ).order_by("created_at", "id")


REQUEST_SNAPSHOT_FIELDS = (
    "status",
    "reference",
    "case_officer_id",
    "decision_reason",
    "submitted_at",
    "first_response_at",
    "first_response_due_at",
    "decision_due_at",
    "decided_at",
    "updated_at",
)
ASSESSMENT_SNAPSHOT_FIELDS = (
    "status",
    "summary",
    "shared_at",
    "validated_at",
    "validated_by_id",
    "updated_at",
)


def snapshot(obj: Any) -> dict[str, Any]:
    """The stored values that a refused use-case must leave alone."""
    fresh = type(obj).objects.get(pk=obj.pk)
    fields = (
        REQUEST_SNAPSHOT_FIELDS
        if isinstance(obj, AssistanceRequest)
        else ASSESSMENT_SNAPSHOT_FIELDS
    )
    return {name: getattr(fresh, name) for name in fields}


@pytest.fixture
def request_factory(partner: Any) -> Callable[..., AssistanceRequest]:
    """``request_factory(by=partner, **fields)`` creates a draft ready to be submitted."""

    def make(*, by: Any = None, **overrides: Any) -> AssistanceRequest:
        return services.request_create(by=by or partner, data=complete_draft_data(**overrides))

    return make


@pytest.fixture
def request_in(
    request_factory: Callable[..., AssistanceRequest], partner: Any, staff: Any
) -> Callable[..., AssistanceRequest]:
    """``request_in(state, by=partner, officer=staff)``: a request brought to ``state``
    through the services, ``officer`` as its case officer once review started."""

    def make(state: str, *, by: Any = None, officer: Any = None) -> AssistanceRequest:
        by, officer = by or partner, officer or staff
        request = request_factory(by=by)
        pk = request.pk
        if state == "draft":
            return AssistanceRequest.objects.get(pk=pk)
        services.request_submit(request_id=pk, by=by)
        if state == "withdrawn":
            services.request_withdraw(request_id=pk, by=by, comment="No longer needed.")
        if state in ("submitted", "withdrawn"):
            return AssistanceRequest.objects.get(pk=pk)
        services.request_start_review(request_id=pk, by=officer)
        if state == "info_requested":
            services.request_request_info(
                request_id=pk, by=officer, message="Which units would take part?"
            )
        elif state == "accepted":
            services.request_accept(request_id=pk, by=officer)
        elif state == "declined":
            services.request_decline(
                request_id=pk, by=officer, reason="Outside the programme's mandate."
            )
        elif state != "under_review":
            raise ValueError(f"unknown state {state!r}")
        return AssistanceRequest.objects.get(pk=pk)

    return make


@pytest.fixture
def assessment_in(
    request_in: Callable[..., AssistanceRequest], partner: Any, staff: Any
) -> Callable[..., NeedsAssessment]:
    """``assessment_in(state, gaps=1)``: the needs assessment of an accepted request
    (owned by ``staff``), with ``gaps`` capacity gaps, brought to ``state``."""

    def make(state: str, *, gaps: int = 1) -> NeedsAssessment:
        request = request_in("accepted")
        assessment = NeedsAssessment.objects.get(request=request)
        for n in range(gaps):
            services.gap_add(
                assessment_id=assessment.pk,
                by=staff,
                data={
                    "level": "organisational",
                    "description": f"No standard operating procedure for registration ({n}).",
                    "baseline": "None",
                    "target": "An adopted SOP",
                    "priority": "high",
                },
            )
        if state in ("shared", "validated"):
            services.assessment_share(assessment_id=assessment.pk, by=staff)
        if state == "validated":
            services.assessment_validate(assessment_id=assessment.pk, by=partner)
        if state not in ("in_progress", "shared", "validated"):
            raise ValueError(f"unknown state {state!r}")
        return NeedsAssessment.objects.get(pk=assessment.pk)

    return make
