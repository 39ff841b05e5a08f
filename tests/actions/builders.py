"""Builders for the actions tests, on top of tests/actions/conftest.py: needs assessments in
any state, actions brought to any state and amendments brought to any state — always
through the real services, so each object went the way a real case goes.

Plain functions (not fixtures) so that a test can build several of each.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from actions import plan, services
from actions.models import Action, Amendment
from cbportal.core.models import GcmObjective, Language, ThematicArea, TransitionEvent
from requests_app import services as requests
from requests_app.models import NeedsAssessment
from tests.actions.conftest import complete_plan

REASON = "The ministry asked to pause while the unit is reorganised."

GAPS = [
    {"level": "individual", "description": "Analysts untrained", "priority": "high"},
    {"level": "organisational", "description": "No data protocol", "priority": "high"},
    {"level": "enabling_environment", "description": "Law silent", "priority": "medium"},
]


def make_assessment(
    partner: Any,
    staff: Any,
    state: str = "validated",
    *,
    title: str = "Border data exchange",
    gcm: tuple[int, ...] = (),
    areas: tuple[str, ...] = ("labour-migration",),
) -> NeedsAssessment:
    """A needs assessment of a new request of ``partner`` (``staff`` its case officer), with
    the three gaps of ``GAPS``, brought to ``in_progress``, ``shared`` or ``validated``."""
    start = timezone.localdate() + timedelta(days=30)
    draft = requests.request_create(
        by=partner,
        data={
            "title": title,
            "problem_statement": "Data are scattered.",
            "expected_outcomes": "One register.",
            "target_institutions": "Ministry of the Interior.",
            "preferred_start": start,
            "preferred_end": start + timedelta(days=180),
            "thematic_areas": ThematicArea.objects.filter(slug__in=areas),
            "gcm_objectives": GcmObjective.objects.filter(number__in=gcm),
            "languages": Language.objects.filter(code="fr"),
        },
    )
    requests.request_submit(request_id=draft.pk, by=partner)
    requests.request_start_review(request_id=draft.pk, by=staff)
    requests.request_accept(request_id=draft.pk, by=staff)
    assessment = NeedsAssessment.objects.get(request=draft)
    requests.assessment_update(assessment_id=assessment.pk, by=staff, data={}, gaps=GAPS)
    if state in ("shared", "validated"):
        requests.assessment_share(assessment_id=assessment.pk, by=staff)
    if state == "validated":
        requests.assessment_validate(assessment_id=assessment.pk, by=partner)
    if state not in ("in_progress", "shared", "validated"):
        raise ValueError(f"unknown state {state!r}")
    return NeedsAssessment.objects.get(pk=assessment.pk)


def make_action(partner: Any, staff: Any, **kwargs: Any) -> Action:
    """A second (third …) action in design with a complete plan."""
    assessment = make_assessment(partner, staff, **kwargs)
    action = services.action_create(assessment_id=assessment.pk, by=staff)
    complete_plan(action, staff)
    return Action.objects.get(pk=action.pk)


# The path to each state; "signed" is approved and co-signed by the partner.
PATHS: dict[str, list[str]] = {
    "design": [],
    "proposed": ["propose"],
    "approved": ["propose", "approve"],
    "signed": ["propose", "approve", "sign"],
    "in_implementation": ["propose", "approve", "sign", "start"],
    "completed": ["propose", "approve", "sign", "start", "complete"],
    "suspended": ["propose", "approve", "sign", "start", "suspend"],
    "suspended_from_approved": ["propose", "approve", "suspend"],
    "cancelled": ["propose", "approve", "cancel"],
}


NEEDS_REASON = {"return", "suspend", "resume", "cancel"}


def advance(action: Action, state: str, *, staff: Any, approver: Any, partner: Any) -> Action:
    """Bring an action in design (with a complete plan) to ``state``: ``staff`` proposes,
    ``approver`` approves, ``partner`` co-signs, ``staff`` does the rest."""
    actors = {"approve": approver, "sign": partner}
    for name in PATHS[state]:
        services.action_transition(
            action_id=action.pk,
            name=name,
            by=actors.get(name, staff),
            text=REASON if name in NEEDS_REASON else "",
        )
    return Action.objects.get(pk=action.pk)


def events_for(obj: Any) -> Any:
    """The transition events of ``obj``, oldest first."""
    return TransitionEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk
    ).order_by("created_at", "id")


def move_first_activity(by_days: int = 7) -> Any:
    """A plan edit that moves the first activity by ``by_days``."""

    def edit(p: plan.Plan, a: Any) -> plan.Plan:
        activity = dict(p["activities"][0])
        moved = (date.fromisoformat(activity["start_date"]) + timedelta(days=by_days)).isoformat()
        return plan.save_activity(
            p, key=activity["key"], data={**activity, "start_date": moved, "end_date": moved}
        )

    return edit


AMENDMENT_PATHS: dict[str, list[str]] = {
    "draft": [],
    "proposed": ["propose"],
    "approved": ["propose", "approve"],
    "applied": ["propose", "approve", "sign"],
    "rejected": ["propose", "reject"],
}


def make_amendment(
    action: Action,
    state: str = "draft",
    *,
    staff: Any,
    approver: Any,
    partner: Any,
    edit: Any = None,
) -> Amendment:
    """An amendment of an agreed ``action`` that moves its first activity by a week (or
    applies ``edit``), drafted and proposed by ``staff``, brought to ``state``."""
    amendment = services.amendment_create(
        action_id=action.pk,
        by=staff,
        reason_category="implementation_delay",
        reason="The training moves by a week.",
        requested_by="Director of the unit",
    )
    services.amendment_plan_edit(
        amendment_id=amendment.pk, by=staff, edit=edit or move_first_activity()
    )
    actors = {"approve": approver, "reject": approver, "sign": partner}
    for name in AMENDMENT_PATHS[state]:
        services.amendment_transition(
            amendment_id=amendment.pk,
            name=name,
            by=actors.get(name, staff),
            text="Not now." if name == "reject" else "",
        )
    return Amendment.objects.get(pk=amendment.pk)
