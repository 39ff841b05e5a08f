"""Demo actions in every state, with activities of several types and the expertise they
need, and one amendment waiting for approval. Built through the real services; used by
``seed_demo`` only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from actions import plan, services
from actions.models import Action
from cbportal.accounts.models import User
from cbportal.core.models import Language, ThematicArea
from requests_app import services as requests
from requests_app.models import NeedsAssessment

# (title, final state, thematic slug, activities: (type, title, offset days, length days, need area))
SCENARIOS: list[tuple[str, str, str, list[tuple[str, str, int, int, str]]]] = [
    (
        "Asylum case-processing guidelines",
        "design",
        "protection",
        [("guidelines", "Drafting workshop on case-processing guidelines", 20, 3, "protection")],
    ),
    (
        "Migration data hub for the statistics office",
        "proposed",
        "data",
        [
            ("training", "Training of trainers on migration statistics", 15, 4, "data"),
            ("study_visit", "Study visit to a peer statistics office", 60, 5, "data"),
        ],
    ),
    (
        "Bilateral labour migration agreement toolkit",
        "approved",
        "labour-migration",
        [("policy_drafting", "Drafting the negotiation toolkit", 10, 10, "labour-migration")],
    ),
    (
        "Integrated border management training curriculum",
        "in_implementation",
        "border-management",
        [
            ("training", "Curriculum design workshop", -20, 3, "border-management"),
            ("mentoring", "Mentoring of curriculum authors", 10, 30, "border-management"),
            (
                "peer_exchange",
                "Peer exchange with a neighbouring border agency",
                45,
                3,
                "border-management",
            ),
        ],
    ),
    (
        "Anti-trafficking referral mechanism",
        "completed",
        "trafficking-smuggling",
        [("sop", "Standard operating procedures for referral", -90, 20, "trafficking-smuggling")],
    ),
    (
        "Diaspora skills mapping methodology",
        "suspended",
        "diaspora-development",
        [
            (
                "consultation",
                "Consultation with diaspora associations",
                30,
                2,
                "diaspora-development",
            )
        ],
    ),
    (
        "Municipal integration strategy",
        "cancelled",
        "integration",
        [("policy_workshop", "Policy workshop with municipalities", 25, 2, "integration")],
    ),
]


def _validated_assessment(title: str, area: str, partner: User, officer: User) -> NeedsAssessment:
    start = timezone.localdate() + timedelta(days=30)
    draft = requests.request_create(
        by=partner,
        data={
            "title": title,
            "problem_statement": "The institution lacks the tools and skills this action addresses.",
            "expected_outcomes": "Procedures adopted and staff applying them.",
            "target_institutions": f"{partner.organisation} and partner ministries.",
            "preferred_start": start,
            "preferred_end": start + timedelta(days=240),
            "thematic_areas": ThematicArea.objects.filter(slug=area),
            "languages": Language.objects.filter(code__in=["fr", "en"]),
        },
    )
    requests.request_submit(request_id=draft.pk, by=partner)
    requests.request_start_review(request_id=draft.pk, by=officer)
    requests.request_accept(request_id=draft.pk, by=officer)
    assessment = NeedsAssessment.objects.get(request=draft)
    requests.assessment_update(
        assessment_id=assessment.pk,
        by=officer,
        data={
            "summary": "Interviews and a self-assessment workshop.",
            "methods": ["interviews", "self_assessment_workshop"],
        },
        gaps=[
            {
                "level": "individual",
                "description": "Officers lack practical skills in the area.",
                "priority": "high",
            },
            {
                "level": "organisational",
                "description": "No written procedure or coordination mechanism.",
                "priority": "high",
            },
            {
                "level": "enabling_environment",
                "description": "The legal basis is incomplete.",
                "priority": "medium",
            },
        ],
    )
    requests.assessment_share(assessment_id=assessment.pk, by=officer)
    requests.assessment_validate(assessment_id=assessment.pk, by=partner)
    return assessment


def _design(
    action: Action, officer: User, activities: list[tuple[str, str, int, int, str]]
) -> None:
    gaps = list(action.assessment.gaps.order_by("level", "position"))
    today = timezone.localdate()
    first = min(today + timedelta(days=offset) for _t, _n, offset, _l, _a in activities)
    last = max(today + timedelta(days=offset + length) for _t, _n, offset, length, _a in activities)

    def edit(p: plan.Plan, a: Any) -> plan.Plan:
        p = plan.set_period(p, min(first, action.start_date), max(last, action.end_date))
        p = plan.save_objective(
            p,
            a,
            key=None,
            text="Officers apply the new procedures in their daily work.",
            gaps=[gaps[0].pk, gaps[1].pk],
        )
        p = plan.save_objective(
            p,
            a,
            key=None,
            text="The institution proposes an amendment of its legal basis.",
            gaps=[gaps[2].pk],
        )
        objective_keys = [o["key"] for o in p["objectives"]]
        for kind, title, offset, length, area in activities:
            start = today + timedelta(days=offset)
            p = plan.save_activity(
                p,
                key=None,
                data={
                    "type": kind,
                    "title": title,
                    "start_date": start,
                    "end_date": start + timedelta(days=length),
                    "modality": "onsite" if kind != "mentoring" else "hybrid",
                    "country": action.country_id,
                    "city": "",
                    "expected_participants": 20,
                    "participants_women": 9,
                    "participants_men": 10,
                    "participants_other": 1,
                    "objectives": objective_keys[:1],
                },
            )
            key = p["activities"][-1]["key"]
            p = plan.save_need(
                p,
                activity_key=key,
                key=None,
                data={
                    "thematic_area": area,
                    "skills": ["training design", "legal drafting"][: 1 + (length > 5)],
                    "languages": ["fr"],
                    "experts_needed": 2,
                    "expert_days": min(length, 10) or 1,
                    "origin_preference": "partner_region_peer" if offset % 2 else "eu_member_state",
                },
            )
        return p

    services.action_plan_edit(action_id=action.pk, by=officer, edit=edit)


@transaction.atomic
def seed() -> int:
    if Action.objects.filter(title=SCENARIOS[0][0]).exists():
        return 0
    partner = User.objects.get(username="partner")
    staff = User.objects.get(username="staff")
    approver = User.objects.get(username="approver")
    evaluator = User.objects.get(username="evaluator")
    for title, final, area, activities in SCENARIOS:
        assessment = _validated_assessment(title, area, partner, staff)
        action = services.action_create(
            assessment_id=assessment.pk,
            by=staff,
            data={
                "summary": f"Peer experts support {partner.organisation} on: {title.lower()}.",
            },
        )
        _design(action, staff, activities)
        if final == "design":
            continue
        if final == "cancelled":
            services.action_cancel(
                action_id=action.pk, by=staff, reason="The partner's priorities changed."
            )
            continue
        services.action_propose(action_id=action.pk, by=staff)
        if final == "proposed":
            continue
        services.action_approve(action_id=action.pk, by=approver)
        services.action_update(action_id=action.pk, by=partner, data={"publish": True})
        if final == "approved":
            continue
        services.action_sign(
            action_id=action.pk, by=partner, name="Amira Ben Salah, Director-General"
        )
        services.action_start(action_id=action.pk, by=staff)
        services.action_update(action_id=action.pk, by=staff, data={"evaluators": [evaluator]})
        if final == "suspended":
            services.action_suspend(
                action_id=action.pk, by=staff, reason="Elections: the ministry asked for a pause."
            )
            continue
        if final == "completed":
            services.action_complete(action_id=action.pk, by=staff)
            continue
        # In implementation, with an amendment waiting for approval.
        amendment = services.amendment_create(
            action_id=action.pk,
            by=staff,
            reason_category="implementation_delay",
            reason="The peer agency can host the exchange only a month later.",
            requested_by="Head of training, border agency",
        )
        last = amendment.proposal["activities"][-1]
        moved = {
            **last,
            "start_date": (timezone.localdate() + timedelta(days=75)).isoformat(),
            "end_date": (timezone.localdate() + timedelta(days=78)).isoformat(),
        }

        def move(p: plan.Plan, a: Any, moved: dict[str, Any] = moved) -> plan.Plan:
            p = plan.set_period(p, p["start_date"], max(p["end_date"], moved["end_date"]))
            return plan.save_activity(p, key=moved["key"], data=moved)

        services.amendment_plan_edit(amendment_id=amendment.pk, by=staff, edit=move)
        services.amendment_transition(amendment_id=amendment.pk, name="propose", by=staff)
    return len(SCENARIOS)
