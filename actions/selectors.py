"""Reads of actions, scoped to what the user may see, with what pages need prefetched."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from actions.models import (
    Action,
    ActionStatus,
    Activity,
    Amendment,
    AmendmentStatus,
    ExpertiseNeed,
    Objective,
)
from cbportal.accounts.permissions import is_staff
from cbportal.core.errors import NotFound
from evaluations.models import FinalEvaluation


def actions_for(user: Any) -> QuerySet[Action]:
    qs = Action.objects.all()
    if not user.is_authenticated:
        return qs.none()
    if is_staff(user):
        return qs
    if user.role == "partner" and user.organisation_id:
        return qs.filter(organisation_id=user.organisation_id, approved_at__isnull=False)
    if user.role == "evaluator":
        return qs.filter(evaluators=user)
    return qs.none()


OPEN_AMENDMENT = Q(
    amendments__status__in=[
        AmendmentStatus.DRAFT,
        AmendmentStatus.PROPOSED,
        AmendmentStatus.APPROVED,
    ]
)


def action_list(user: Any) -> QuerySet[Action]:
    return (
        actions_for(user)
        .select_related("organisation", "country", "request", "assessment")
        .prefetch_related("thematic_areas", "gcm_objectives")
        .annotate(
            open_amendments=Count("amendments", filter=OPEN_AMENDMENT, distinct=True),
            # The ``close`` guard reads it (Action.has_submitted_evaluation).
            evaluation_submitted=Exists(
                FinalEvaluation.objects.filter(action=OuterRef("pk"), status="submitted")
            ),
        )
    )


# An action's activities in plan order with their expertise needs.
ACTIVITIES_WITH_NEEDS = (
    Activity.objects.select_related("country")
    .prefetch_related(
        Prefetch(
            "needs",
            queryset=ExpertiseNeed.objects.select_related("thematic_area").prefetch_related(
                "skills", "languages"
            ),
        )
    )
    .order_by("start_date", "position", "id")
)

PLAN_PREFETCH = (
    Prefetch(
        "objectives", queryset=Objective.objects.prefetch_related("gaps").order_by("position", "id")
    ),
    Prefetch("activities", queryset=ACTIVITIES_WITH_NEEDS.prefetch_related("objectives")),
)


def action_detail(user: Any, pk: Any) -> Action:
    try:
        return (
            action_list(user)
            .select_related(
                "assessment", "drafted_by", "proposed_by", "approved_by", "request__case_officer"
            )
            .prefetch_related(*PLAN_PREFETCH, "evaluators")
            .get(pk=pk)
        )
    except (Action.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def action_needs(user: Any, pk: Any) -> Action:
    """An action ``user`` may see with its activities and their expertise needs, and no more
    (the deployment board): six queries where ``action_detail`` takes eleven."""
    try:
        return (
            actions_for(user)
            .select_related("organisation")
            .prefetch_related(Prefetch("activities", queryset=ACTIVITIES_WITH_NEEDS))
            .get(pk=pk)
        )
    except (Action.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def approval_queue(user: Any) -> tuple[QuerySet[Action], QuerySet[Amendment]]:
    """What an approver may approve: proposed actions and amendments they did not propose."""
    if not getattr(user, "is_approver", False):
        return Action.objects.none(), Amendment.objects.none()
    actions = (
        action_list(user)
        .filter(status=ActionStatus.PROPOSED)
        .exclude(proposed_by=user)
        .order_by("updated_at")
    )
    amendments = (
        Amendment.objects.filter(status=AmendmentStatus.PROPOSED)
        .exclude(proposed_by=user)
        .select_related("action", "action__organisation")
        .order_by("updated_at")
    )
    return actions, amendments


def amendments_for(user: Any, action: Action) -> QuerySet[Amendment]:
    qs = action.amendments.select_related("drafted_by", "proposed_by", "approved_by").order_by(
        "-number"
    )
    if is_staff(user):
        return qs
    return qs.filter(~Q(approved_at=None))


def activities_for(user: Any) -> QuerySet[Activity]:
    return Activity.objects.filter(action__in=actions_for(user)).select_related("action", "country")


def needs_for(user: Any) -> QuerySet[ExpertiseNeed]:
    return (
        ExpertiseNeed.objects.filter(activity__action__in=actions_for(user))
        .select_related("activity", "activity__action", "thematic_area")
        .prefetch_related("skills", "languages")
    )
