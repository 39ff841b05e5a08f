"""Builders for the actions API, page, permission and query tests: validated assessments,
actions brought to any state, plans of any size and amendments in any state — always
through the real services (requests_app.services, actions.services), so references,
events and row locks are the real ones.

Plain functions, not fixtures, so that one test can build several of each.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from itertools import count
from typing import Any

from django.utils import timezone

from actions import plan, services
from actions.models import Action, Amendment
from cbportal.core.models import GcmObjective, Language, ThematicArea
from requests_app import services as requests
from requests_app.models import NeedsAssessment
from tests.actions.conftest import complete_plan
from tests.factories import OrganisationFactory, UserFactory

ACTIONS = "/api/v1/actions/"
ACTIVITIES = "/api/v1/activities/"
NEEDS = "/api/v1/expertise-needs/"

REASON = "The ministry asked to pause while the unit is reorganised."
SIGNATORY = "Amira Ben Salah"

GAPS = [
    {"level": "individual", "description": "Analysts untrained", "priority": "high"},
    {"level": "organisational", "description": "No data protocol", "priority": "high"},
    {"level": "enabling_environment", "description": "Law silent", "priority": "medium"},
]

_titles = count(1)


def partner_in(country: str, username: str) -> Any:
    """A partner focal point of a new organisation based in ``country`` (ISO code)."""
    from cbportal.accounts.models import Country

    org = OrganisationFactory(country=Country.objects.get(code=country))
    return UserFactory(username=username, partner=True, organisation=org)


def make_assessment(
    partner: Any,
    staff: Any,
    *,
    state: str = "validated",
    title: str | None = None,
    areas: tuple[str, ...] = ("labour-migration",),
    gcm: tuple[int, ...] = (),
) -> NeedsAssessment:
    """A needs assessment of a new request of ``partner`` with the three ``GAPS``, brought
    to ``in_progress``, ``shared`` or ``validated``; ``staff`` is the case officer."""
    start = timezone.localdate() + timedelta(days=30)
    draft = requests.request_create(
        by=partner,
        data={
            "title": title or f"Migration data exchange {next(_titles)}",
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
    return NeedsAssessment.objects.get(pk=assessment.pk)


# The transitions that bring an action in design (complete plan) to a state.
# "approved" is not co-signed yet; "signed" is approved and co-signed.
PATHS: dict[str, list[str]] = {
    "design": [],
    "proposed": ["propose"],
    "approved": ["propose", "approve"],
    "signed": ["propose", "approve", "sign"],
    "in_implementation": ["propose", "approve", "sign", "start"],
    "completed": ["propose", "approve", "sign", "start", "complete"],
    "suspended": ["propose", "approve", "sign", "start", "suspend"],
    "cancelled": ["cancel"],
}
WITH_REASON = {"return", "suspend", "resume", "cancel"}


def advance(action: Action, state: str, *, staff: Any, approver: Any, partner: Any) -> Action:
    """``staff`` proposes, ``approver`` approves, ``partner`` co-signs, ``staff`` the rest."""
    actors = {"approve": approver, "sign": partner}
    for name in PATHS[state]:
        text = REASON if name in WITH_REASON else SIGNATORY if name == "sign" else ""
        services.action_transition(
            action_id=action.pk, name=name, by=actors.get(name, staff), text=text
        )
    return Action.objects.get(pk=action.pk)


def make_action(
    partner: Any,
    staff: Any,
    state: str = "design",
    *,
    approver: Any = None,
    evaluators: tuple[Any, ...] = (),
    assessment: NeedsAssessment | None = None,
    period: tuple[date, date] | None = None,
    **assessment_kwargs: Any,
) -> Action:
    """An action of ``partner``'s organisation with a complete plan (one objective, one
    training with one expertise need on the first day), brought to ``state``. ``period``
    overrides the period taken from the request."""
    assessment = assessment or make_assessment(partner, staff, **assessment_kwargs)
    data = {"start_date": period[0], "end_date": period[1]} if period else None
    action = services.action_create(assessment_id=assessment.pk, by=staff, data=data)
    complete_plan(action, staff)
    if evaluators:
        services.action_update(action_id=action.pk, by=staff, data={"evaluators": evaluators})
    return advance(action, state, staff=staff, approver=approver, partner=partner)


def add_activities(action: Action, staff: Any, n: int, *, needs: int = 2) -> None:
    """Add ``n`` activities (latest first, so date order differs from creation order) with
    ``needs`` expertise needs each to an action in design."""

    def edit(p: plan.Plan, a: Any) -> plan.Plan:
        start = date.fromisoformat(p["start_date"])
        objective = p["objectives"][0]["key"]
        for i in range(n):
            day = (start + timedelta(days=60 - i)).isoformat()
            before = {x["key"] for x in p["activities"]}
            p = plan.save_activity(
                p,
                key=None,
                data={
                    "type": "policy_workshop",
                    "title": f"Workshop {i + 1:02d}",
                    "start_date": day,
                    "end_date": day,
                    "modality": "hybrid",
                    "country": "TN",
                    "city": "Sousse",
                    "expected_participants": 20,
                    "participants_women": 10,
                    "participants_men": 10,
                    "objectives": [objective],
                },
            )
            key = next(x["key"] for x in p["activities"] if x["key"] not in before)
            for j in range(needs):
                p = plan.save_need(
                    p,
                    activity_key=key,
                    key=None,
                    data={
                        "thematic_area": "data" if j % 2 == 0 else "governance",
                        "skills": [f"skill {j}", "facilitation"],
                        "languages": ["fr", "en"],
                        "experts_needed": 1 + j,
                        "expert_days": 3,
                        "origin_preference": "any",
                    },
                )
        return p

    services.action_plan_edit(action_id=action.pk, by=staff, edit=edit)


def move_first_activity(days: int = 7) -> Any:
    """A plan edit that moves the first activity by ``days``."""

    def edit(p: plan.Plan, a: Any) -> plan.Plan:
        activity = dict(p["activities"][0])
        moved = (date.fromisoformat(activity["start_date"]) + timedelta(days=days)).isoformat()
        return plan.save_activity(
            p, key=activity["key"], data={**activity, "start_date": moved, "end_date": moved}
        )

    return edit


AMENDMENT_PATHS: dict[str, list[str]] = {
    "draft": [],
    "proposed": ["propose"],
    "approved": ["propose", "approve"],
    "applied": ["propose", "approve", "sign"],
}


def make_amendment(
    action: Action, state: str = "draft", *, staff: Any, approver: Any, partner: Any
) -> Amendment:
    """An amendment of an agreed ``action`` moving its first activity by a week, drafted and
    proposed by ``staff``, brought to ``state``."""
    amendment = services.amendment_create(
        action_id=action.pk,
        by=staff,
        reason_category="implementation_delay",
        reason="The training moves by a week.",
        requested_by="Director of the unit",
    )
    services.amendment_plan_edit(amendment_id=amendment.pk, by=staff, edit=move_first_activity())
    actors = {"approve": approver, "sign": partner}
    for name in AMENDMENT_PATHS[state]:
        services.amendment_transition(
            amendment_id=amendment.pk, name=name, by=actors.get(name, staff)
        )
    return Amendment.objects.get(pk=amendment.pk)


def errors(response: Any) -> dict[str | None, list[str]]:
    """The API error body as ``{attr: [detail, ...]}`` (the shape is checked on the way)."""
    body = response.json()
    assert set(body) == {"type", "errors"}, body
    out: dict[str | None, list[str]] = {}
    for error in body["errors"]:
        assert set(error) == {"code", "detail", "attr"}, error
        out.setdefault(error["attr"], []).append(error["detail"])
    return out


def find_testids(response: Any) -> list[str]:
    return re.findall(r'data-testid="([^"]+)"', response.content.decode())


def transition_buttons(response: Any) -> set[str]:
    return {
        t.removeprefix("transition-") for t in find_testids(response) if t.startswith("transition-")
    }
