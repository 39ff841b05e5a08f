"""Builders for actions: a validated assessment with gaps at the three levels, and actions
with a complete plan, made through the real services."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from actions import plan, services
from cbportal.core.models import Language, ThematicArea
from requests_app import services as requests
from requests_app.models import NeedsAssessment


@pytest.fixture
def validated_assessment(partner, staff) -> NeedsAssessment:
    return build_validated_assessment(partner, staff)


def build_validated_assessment(partner: Any, staff: Any) -> NeedsAssessment:
    """A request accepted by ``staff`` whose assessment (a gap at each CB level) the
    partner has validated."""
    start = timezone.localdate() + timedelta(days=30)
    draft = requests.request_create(
        by=partner,
        data={
            "title": "Labour migration information system",
            "problem_statement": "Data are scattered.",
            "expected_outcomes": "One register.",
            "target_institutions": "Ministry of Labour.",
            "preferred_start": start,
            "preferred_end": start + timedelta(days=180),
            "thematic_areas": ThematicArea.objects.filter(slug="labour-migration"),
            "languages": Language.objects.filter(code="fr"),
        },
    )
    requests.request_submit(request_id=draft.pk, by=partner)
    requests.request_start_review(request_id=draft.pk, by=staff)
    requests.request_accept(request_id=draft.pk, by=staff)
    assessment = NeedsAssessment.objects.get(request=draft)
    requests.assessment_update(
        assessment_id=assessment.pk,
        by=staff,
        data={},
        gaps=[
            {"level": "individual", "description": "Analysts untrained", "priority": "high"},
            {"level": "organisational", "description": "No data protocol", "priority": "high"},
            {"level": "enabling_environment", "description": "Law silent", "priority": "medium"},
        ],
    )
    requests.assessment_share(assessment_id=assessment.pk, by=staff)
    requests.assessment_validate(assessment_id=assessment.pk, by=partner)
    return NeedsAssessment.objects.get(pk=assessment.pk)


def complete_plan(action: Any, by: Any) -> None:
    gap = action.assessment.gaps.first()

    def edit(p: plan.Plan, a: Any) -> plan.Plan:
        p = plan.save_objective(p, a, key=None, text="Analysts run the register", gaps=[gap.pk])
        p = plan.save_activity(
            p,
            key=None,
            data={
                "type": "training",
                "title": "Training of analysts",
                "start_date": p["start_date"],
                "end_date": p["start_date"],
                "modality": "onsite",
                "country": "TN",
                "city": "Tunis",
                "expected_participants": 15,
                "participants_women": 8,
                "participants_men": 7,
                "objectives": [p["objectives"][0]["key"]],
            },
        )
        return plan.save_need(
            p,
            activity_key=p["activities"][0]["key"],
            key=None,
            data={
                "thematic_area": "data",
                "skills": ["statistics"],
                "languages": ["fr"],
                "experts_needed": 2,
                "expert_days": 5,
                "origin_preference": "partner_region_peer",
            },
        )

    services.action_plan_edit(action_id=action.pk, by=by, edit=edit)


@pytest.fixture
def designed_action(validated_assessment, staff):
    action = services.action_create(assessment_id=validated_assessment.pk, by=staff)
    complete_plan(action, staff)
    return action
