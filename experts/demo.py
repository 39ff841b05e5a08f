"""Demo roster and deployments: 240 synthetic roster entries written in bulk
(``experts.synthetic``), the ``expert`` account's complete profile, stored matching
results for the demo actions' expertise needs and deployments in every state — the
profile, the matching and the deployments through the real services. Used by
``seed_demo`` only (after the actions demo, whose needs it staffs).

What each role then sees:

* ``expert`` (Ana Pereira): an open invitation (peer exchange), a confirmed upcoming
  mission (labour migration toolkit) and a completed mission with its report and rating
  (curriculum design workshop); a complete, approved profile with an unavailability period.
* ``staff``: a stored shortlist with its score breakdown for each of the four needs of
  the two actions under way; on their deployment boards, deployments shortlisted,
  invited, accepted, declined, expired, confirmed, reported (awaiting completion),
  completed and rated, and cancelled; a vetting queue of pending roster entries.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from actions.models import ExpertiseNeed
from cbportal.accounts.models import Country, Organisation, User
from cbportal.core.models import ThematicArea
from experts import services, synthetic
from experts.models import (
    Deployment,
    Expert,
    MatchJob,
    MatchResult,
    VettingStatus,
)

ROSTER_SIZE = 240
SEED = "cbportal-demo-roster"
EMAIL_DOMAIN = "roster.demo.cbportal.localhost"

# (action title, activity title) of the demo actions' needs, by the role they play here.
BORDER = "Integrated border management training curriculum"
LABOUR = "Bilateral labour migration agreement toolkit"
NEEDS = {
    "past": (BORDER, "Curriculum design workshop"),
    "labour": (LABOUR, "Drafting the negotiation toolkit"),
    "mentoring": (BORDER, "Mentoring of curriculum authors"),
    "exchange": (BORDER, "Peer exchange with a neighbouring border agency"),
}

REPORT = {
    "summary": (
        "Three-day workshop with 18 curriculum authors of the border agency: the training "
        "needs analysis was validated and the modules of the new curriculum agreed."
    ),
    "outputs": (
        "Validated training needs analysis; curriculum outline of six modules; a glossary "
        "shared by the agency and the coast guard."
    ),
    "recommendations": (
        "Pilot modules 1 and 2 with the next intake; pair each author with a peer mentor; "
        "involve the coast guard academy in the review."
    ),
}


def _profile(staff: User, user: User) -> Expert:
    """The ``expert`` account's complete profile, approved by staff."""
    today = timezone.localdate()
    data: dict[str, Any] = {
        "full_name": user.display_name,
        "email": user.email,
        "phone": "+351 210 000 000",
        "home_institution": "Agency for Integration, Migration and Asylum (AIMA), Lisbon",
        "administration_type": "eu_member_state",
        "nationality": Country.objects.get(code="PT"),
        "residence": Country.objects.get(code="PT"),
        "years_experience": 14,
        "biography": (
            "Ana Pereira heads the training unit of Portugal's Agency for Integration, "
            "Migration and Asylum. Fourteen years in border management and labour migration: "
            "she designed the national curriculum for first-line officers, negotiated two "
            "bilateral labour agreements and has led peer-to-peer missions in Morocco, "
            "Tunisia, Cabo Verde and Mozambique."
        ),
        "thematic_areas": list(
            ThematicArea.objects.filter(slug__in=["border-management", "labour-migration", "data"])
        ),
        "countries_of_experience": list(
            Country.objects.filter(code__in=["TN", "MA", "CV", "MZ", "SN", "BR"])
        ),
        "skills": [
            "training design",
            "legal drafting",
            "training of trainers",
            "integrated border management",
            "risk analysis",
            "bilateral labour agreements",
        ],
        "languages": [("pt", "C2"), ("en", "C1"), ("fr", "C1"), ("es", "B2")],
        "consent_contact": True,
        "consent_retention": True,
        "share_contact": True,
    }
    existing = Expert.objects.filter(user=user).first()
    if existing is None:
        expert = services.expert_create(by=staff, data={"user": user, **data})
    else:
        expert = services.expert_update(expert_id=existing.pk, by=staff, data=data)
    if expert.vetting_status != VettingStatus.APPROVED:
        services.expert_vet(
            expert_id=expert.pk,
            by=staff,
            decision="approve",
            note="References confirmed with AIMA's human resources department.",
        )
    services.unavailability_add(
        expert_id=expert.pk,
        by=user,
        start_date=today + dt.timedelta(days=100),
        end_date=today + dt.timedelta(days=114),
        note="Annual leave",
    )
    return Expert.objects.get(pk=expert.pk)


def _need(action_title: str, activity_title: str) -> ExpertiseNeed | None:
    return (
        ExpertiseNeed.objects.select_related("activity")
        .filter(activity__action__title=action_title, activity__title=activity_title)
        .order_by("id")
        .first()
    )


def _match(need: ExpertiseNeed, staff: User) -> MatchJob:
    # The seed runs in one transaction: the task ``match_queue`` schedules would only run
    # after it commits, so the demo runs the job itself (``match_run`` is what the task
    # calls).
    job = MatchJob.objects.create(need=need, requested_by=staff)
    return services.match_run(job_id=job.pk)


class _Picker:
    """Experts for the demo deployments, best-ranked first: each is used once, has a login
    and agrees to be contacted (the invitation's guards)."""

    def __init__(self) -> None:
        self.used: set[int] = set()

    def take(self, need: ExpertiseNeed, count: int) -> list[Expert]:
        ranked = list(
            MatchResult.objects.filter(need=need)
            .order_by("rank")
            .values_list("expert_id", flat=True)
        )
        fallback = list(
            Expert.objects.filter(
                vetting_status=VettingStatus.APPROVED, is_active=True, user__isnull=False
            )
            .order_by("id")
            .values_list("pk", flat=True)
        )
        ok = set(
            Expert.objects.filter(
                pk__in=ranked + fallback,
                user__isnull=False,
                consent_contact=True,
                is_active=True,
                vetting_status=VettingStatus.APPROVED,
                email__endswith="@" + EMAIL_DOMAIN,
            ).values_list("pk", flat=True)
        )
        chosen: list[int] = []
        for pk in [*ranked, *fallback]:
            if pk in ok and pk not in self.used and pk not in chosen:
                chosen.append(pk)
            if len(chosen) == count:
                break
        self.used.update(chosen)
        experts = Expert.objects.select_related("user").in_bulk(chosen)
        return [experts[pk] for pk in chosen]


def _deploy(
    state: str,
    need: ExpertiseNeed,
    expert: Expert,
    staff: User,
    *,
    rating: int | None = None,
) -> None:
    """Bring a deployment of ``expert`` on ``need`` to ``state`` through the services
    (``reported``: confirmed with the mission report filed, awaiting completion; reports
    are for the past workshop, whose mission has taken place)."""
    user = expert.user
    assert user is not None
    d = services.deployment_shortlist(need_id=need.pk, expert_id=expert.pk, by=staff)
    if state == "shortlisted":
        return
    services.deployment_invite(
        deployment_id=d.pk,
        by=staff,
        comment="Your profile fits this activity well; we hope you can join.",
    )
    if state == "invited":
        return
    if state == "expired":
        # Let the invitation lapse and run the scheduled expiry job.
        Deployment.objects.filter(pk=d.pk).update(
            expires_at=timezone.now() - dt.timedelta(minutes=1)
        )
        services.deployments_expire_due()
        return
    if state == "declined":
        services.deployment_decline(
            deployment_id=d.pk,
            by=user,
            reason="I am committed to an internal audit over these dates.",
        )
        return
    if state == "cancelled":
        services.deployment_cancel(
            deployment_id=d.pk,
            by=staff,
            reason="The partner reduced the activity to one expert.",
        )
        return
    services.deployment_accept(deployment_id=d.pk, by=user, comment="Glad to contribute.")
    if state == "accepted":
        return
    confirmed = services.deployment_confirm(deployment_id=d.pk, by=staff)
    if state == "confirmed":
        return
    assert confirmed.start_date is not None and confirmed.end_date is not None
    services.deployment_report_submit(
        deployment_id=d.pk,
        by=user,
        days_worked=min(
            confirmed.expert_days or 1, (confirmed.end_date - confirmed.start_date).days + 1
        ),
        **REPORT,
    )
    if state == "reported":
        return
    services.deployment_complete(deployment_id=d.pk, by=staff)
    services.deployment_rate(
        deployment_id=d.pk,
        by=staff,
        rating=rating or 4,
        note="Well prepared; the partner asked for a follow-up.",
    )


@transaction.atomic
def seed() -> int:
    """Create the demo roster and deployments once; returns how many experts were created
    (0 when they exist)."""
    if Expert.objects.filter(email__endswith="@" + EMAIL_DOMAIN).exists():
        return 0
    staff = User.objects.get(username="staff")
    partner = User.objects.get(username="partner")
    employers: dict[str, Organisation] = {}
    if partner.organisation is not None:
        employers[partner.organisation.country_id] = partner.organisation
    entries = synthetic.generate(
        ROSTER_SIZE,
        seed=SEED,
        email_domain=EMAIL_DOMAIN,
        accounts=0.6,
        employers=employers,
    )
    synthetic.write(entries, vetted_by=staff)
    ana = _profile(staff, User.objects.get(username="expert"))
    found = {key: _need(*titles) for key, titles in NEEDS.items()}
    needs = {key: need for key, need in found.items() if need is not None}
    if len(needs) == len(NEEDS):  # the demo actions are there to be staffed
        _deployments(staff, ana, needs)
    return len(entries) + 1


def _deployments(staff: User, ana: Expert, needs: dict[str, ExpertiseNeed]) -> None:
    pick = _Picker()
    pick.used.add(ana.pk)

    # The past workshop: completed missions (one of them Ana's), one awaiting completion,
    # one declined.
    past = needs["past"]
    _match(past, staff)
    _deploy("completed", past, ana, staff, rating=5)
    for expert, state, rating in zip(
        pick.take(past, 4),
        ("completed", "completed", "reported", "declined"),
        (4, 3, None, None),
        strict=False,
    ):
        _deploy(state, past, expert, staff, rating=rating)

    # The labour migration toolkit: Ana's confirmed upcoming mission, and the other answers.
    labour = needs["labour"]
    _match(labour, staff)
    _deploy("confirmed", labour, ana, staff)
    for expert, state in zip(
        pick.take(labour, 3), ("accepted", "expired", "declined"), strict=False
    ):
        _deploy(state, labour, expert, staff)

    # Mentoring: staff's current work on the shortlist.
    mentoring = needs["mentoring"]
    _match(mentoring, staff)
    for expert, state in zip(
        pick.take(mentoring, 5),
        ("confirmed", "invited", "cancelled", "shortlisted", "shortlisted"),
        strict=False,
    ):
        _deploy(state, mentoring, expert, staff)

    # The peer exchange: Ana's open invitation.
    exchange = needs["exchange"]
    _match(exchange, staff)
    _deploy("invited", exchange, ana, staff)
    for expert, state in zip(pick.take(exchange, 2), ("invited", "shortlisted"), strict=False):
        _deploy(state, exchange, expert, staff)
