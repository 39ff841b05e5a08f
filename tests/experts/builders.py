"""Builders for the experts tests: roster entries, an approved action with a need, and
deployments brought to any state — through the real services wherever a service exists.

Plain functions (not fixtures) so that a test can build several of each.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.utils import timezone

from actions.models import Action, ExpertiseNeed
from experts import services
from experts.models import Deployment, Expert, VettingStatus
from tests.actions.builders import advance, make_action
from tests.factories import UserFactory

REASON = "Another mission was scheduled at the same time."


def make_expert(
    user: Any = None,
    *,
    name: str = "Amina Diallo",
    languages: tuple[tuple[str, str], ...] = (("fr", "C1"), ("en", "B2")),
    areas: tuple[str, ...] = ("data",),
    skills: tuple[str, ...] = ("statistics",),
    countries: tuple[str, ...] = ("TN",),
    administration_type: str = "partner_country",
    nationality: str = "SN",
    vetted: bool = True,
    consent: bool = True,
    active: bool = True,
    by: Any = None,
    **extra: Any,
) -> Expert:
    """A roster entry created by staff (``by``, default a new staff user), approved unless
    ``vetted=False``. ``user`` defaults to a new expert account."""
    from cbportal.accounts.models import Country
    from cbportal.core.models import ThematicArea

    staff = by or UserFactory()
    if user is None:
        user = UserFactory(expert=True)
    expert = services.expert_create(
        by=staff,
        data={
            "user": user or None,
            "full_name": name,
            "email": getattr(user, "email", "") or "",
            "administration_type": administration_type,
            "nationality": Country.objects.get(code=nationality) if nationality else None,
            "years_experience": extra.pop("years_experience", 10),
            "biography": extra.pop("biography", f"{name} heads a statistics unit."),
            "home_institution": extra.pop("home_institution", "National Statistics Office"),
            "thematic_areas": list(ThematicArea.objects.filter(slug__in=areas)),
            "countries_of_experience": list(Country.objects.filter(code__in=countries)),
            "skills": list(skills),
            "languages": [{"code": c, "level": lvl} for c, lvl in languages],
            "consent_contact": consent,
            "consent_retention": consent,
            "is_active": active,
            **extra,
        },
    )
    if vetted:
        services.expert_vet(expert_id=expert.pk, by=staff, decision="approve")
    return Expert.objects.get(pk=expert.pk)


def approved_action(partner: Any, staff: Any, approver: Any, state: str = "approved") -> Action:
    """An action of ``partner`` with a complete plan (one training activity 30 days from now
    in Tunisia, one need: thematic area ``data``, skill ``statistics``, French), brought to
    ``state`` (default ``approved``; ``signed``, ``in_implementation`` … as in
    tests/actions/builders.advance)."""
    action = make_action(partner, staff)
    return advance(action, state, staff=staff, approver=approver, partner=partner)


def first_need(action: Action) -> ExpertiseNeed:
    return ExpertiseNeed.objects.filter(activity__action=action).order_by("id").first()  # type: ignore[return-value]


def deployment_in(
    state: str,
    need: ExpertiseNeed,
    expert: Expert,
    *,
    staff: Any,
    start: date | None = None,
    end: date | None = None,
) -> Deployment:
    """A deployment of ``expert`` on ``need`` brought to ``state`` through the services
    (``expired`` is reached by moving the expiry date back and running the expiry job)."""
    d = services.deployment_shortlist(need_id=need.pk, expert_id=expert.pk, by=staff)
    if state == "shortlisted":
        return Deployment.objects.get(pk=d.pk)
    services.deployment_invite(deployment_id=d.pk, by=staff)
    user = expert.user
    if state == "invited":
        return Deployment.objects.get(pk=d.pk)
    if state == "expired":
        Deployment.objects.filter(pk=d.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
        services.deployments_expire_due()
        return Deployment.objects.get(pk=d.pk)
    if state == "declined":
        services.deployment_decline(deployment_id=d.pk, by=user, reason=REASON)
        return Deployment.objects.get(pk=d.pk)
    services.deployment_accept(deployment_id=d.pk, by=user)
    if state == "accepted":
        return Deployment.objects.get(pk=d.pk)
    activity = need.activity
    services.deployment_confirm(
        deployment_id=d.pk,
        by=staff,
        start_date=start or activity.start_date,
        end_date=end or activity.end_date,
        expert_days=1,
    )
    if state == "confirmed":
        return Deployment.objects.get(pk=d.pk)
    if state in ("completed", "reported"):
        # The report is filed after the mission: move it into the past first.
        past_start = timezone.localdate() - timedelta(days=10)
        Deployment.objects.filter(pk=d.pk).update(start_date=past_start, end_date=past_start)
        services.deployment_report_submit(
            deployment_id=d.pk,
            by=user,
            summary="Trained 15 analysts.",
            outputs="Training materials.",
            recommendations="Repeat in a year.",
            days_worked=1,
        )
        if state == "reported":
            return Deployment.objects.get(pk=d.pk)
        services.deployment_complete(deployment_id=d.pk, by=staff)
        return Deployment.objects.get(pk=d.pk)
    if state == "cancelled":
        services.deployment_cancel(deployment_id=d.pk, by=staff, reason=REASON)
        return Deployment.objects.get(pk=d.pk)
    raise ValueError(f"unknown state {state!r}")


DEPLOYMENT_STATES = (
    "shortlisted",
    "invited",
    "accepted",
    "declined",
    "expired",
    "confirmed",
    "completed",
    "cancelled",
)

__all__ = [
    "DEPLOYMENT_STATES",
    "REASON",
    "VettingStatus",
    "approved_action",
    "deployment_in",
    "first_need",
    "make_expert",
]
