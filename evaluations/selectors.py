"""Reads of monitoring and evaluation, scoped to what the user may see."""

from __future__ import annotations

from typing import Any

from django.db.models import (
    Avg,
    Count,
    Exists,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
)

from actions.models import Action, Activity
from actions.selectors import actions_for
from cbportal.accounts.permissions import is_staff
from cbportal.core.errors import NotFound
from evaluations.models import (
    EvaluationStatus,
    Feedback,
    FeedbackLink,
    FinalEvaluation,
    Indicator,
    Measurement,
    Outcome,
    Recommendation,
    RespondentKind,
)

# A deployment that put the person to work on the action (or was about to).
ENGAGED = Q(status__in=["accepted", "confirmed", "completed"]) | Q(
    status="cancelled", status_before_cancel__in=["accepted", "confirmed"]
)


def _same_person(user: Any) -> Q:
    """Expert profiles that belong to ``user``: their own, or one with their email address
    (an evaluator account and an expert account of the same person)."""
    match = Q(expert__user_id=user.pk)
    email = (getattr(user, "email", "") or "").strip().lower()
    if email:
        match |= Q(expert__user__email__iexact=email) | Q(expert__email__iexact=email)
    return match


def deployed_on_action(user: Any, action_id: int) -> bool:
    """Was ``user`` deployed (or engaged to be) as an expert on the action? Then they may
    not evaluate it (conflict of interest)."""
    from experts.models import Deployment

    return (
        Deployment.objects.filter(need__activity__action_id=action_id)
        .filter(ENGAGED)
        .filter(_same_person(user))
        .exists()
    )


def conflicted_evaluators(action_id: int, users: list[Any]) -> list[Any]:
    """Those of ``users`` who were deployed on the action (one query per user: a handful)."""
    return [user for user in users if deployed_on_action(user, action_id)]


def _visible_actions(user: Any) -> QuerySet[Action]:
    return actions_for(user).values("pk")  # type: ignore[return-value]


def indicators_for(user: Any) -> QuerySet[Indicator]:
    if not user.is_authenticated:
        return Indicator.objects.none()
    qs = Indicator.objects.all()
    if not is_staff(user):
        qs = qs.filter(action__in=_visible_actions(user))
    return qs.select_related("action", "objective")


def indicator_list(user: Any) -> QuerySet[Indicator]:
    return indicators_for(user).prefetch_related(
        Prefetch(
            "measurements",
            queryset=Measurement.objects.select_related("recorded_by").order_by("-date", "-id"),
        )
    )


def indicator_detail(user: Any, pk: Any) -> Indicator:
    try:
        return indicator_list(user).get(pk=pk)
    except (Indicator.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def measurements_for(user: Any) -> QuerySet[Measurement]:
    if not user.is_authenticated:
        return Measurement.objects.none()
    qs = Measurement.objects.all()
    if not is_staff(user):
        qs = qs.filter(indicator__action__in=_visible_actions(user))
    return qs.select_related("indicator", "indicator__action", "recorded_by")


def outcomes_for(user: Any) -> QuerySet[Outcome]:
    if not user.is_authenticated:
        return Outcome.objects.none()
    qs = Outcome.objects.all()
    if not is_staff(user):
        qs = qs.filter(action__in=_visible_actions(user))
    return qs.select_related("action", "recorded_by")


def feedback_for(user: Any) -> QuerySet[Feedback]:
    """Staff see all feedback; evaluators that of their actions; a partner only what its
    own organisation's focal points gave (participants answered in confidence)."""
    if not user.is_authenticated:
        return Feedback.objects.none()
    qs = Feedback.objects.select_related("activity", "activity__action")
    if is_staff(user):
        return qs
    if user.role == "evaluator":
        return qs.filter(activity__action__evaluators=user)
    if user.role == "partner" and user.organisation_id:
        return qs.filter(
            respondent=RespondentKind.PARTNER,
            activity__action__in=_visible_actions(user),
        )
    return qs.none()


def evaluations_for(user: Any) -> QuerySet[FinalEvaluation]:
    if not user.is_authenticated:
        return FinalEvaluation.objects.none()
    qs = FinalEvaluation.objects.all()
    if is_staff(user):
        pass
    elif user.role == "evaluator":
        qs = qs.filter(action__evaluators=user)
    elif user.role == "partner" and user.organisation_id:
        qs = qs.filter(action__in=_visible_actions(user), status=EvaluationStatus.SUBMITTED)
    else:
        return qs.none()
    return (
        qs.select_related("action", "action__organisation", "action__country", "submitted_by")
        .prefetch_related(
            Prefetch(
                "recommendations",
                queryset=Recommendation.objects.select_related("follow_up_request"),
            )
        )
        # The ``submit`` guard reads ``is_assigned`` (no query per row in lists).
        .annotate(
            is_assigned=Exists(
                Action.evaluators.through.objects.filter(
                    action_id=OuterRef("action_id"), user_id=user.pk
                )
            )
        )
    )


def evaluation_detail(user: Any, pk: Any) -> FinalEvaluation:
    try:
        return evaluations_for(user).get(pk=pk)
    except (FinalEvaluation.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def evaluation_for_action(user: Any, action: Action) -> FinalEvaluation | None:
    return evaluations_for(user).filter(action=action).first()


def monitored_action(user: Any, pk: Any) -> Action:
    """The action with what its monitoring page needs, or 404."""
    qs = actions_for(user).select_related("organisation", "country", "request__case_officer")
    if user.is_authenticated and user.role == "evaluator":
        qs = qs.annotate(
            user_is_evaluator=Exists(
                Action.evaluators.through.objects.filter(action_id=OuterRef("pk"), user_id=user.pk)
            )
        )
    try:
        return qs.prefetch_related("evaluators", "objectives").get(pk=pk)
    except (Action.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def action_indicators(action: Action) -> QuerySet[Indicator]:
    return (
        Indicator.objects.filter(action=action)
        .select_related("objective")
        .prefetch_related(
            Prefetch(
                "measurements",
                queryset=Measurement.objects.select_related("recorded_by").order_by("-date", "-id"),
            )
        )
        .order_by("position", "id")
    )


def action_outcomes(action: Action) -> QuerySet[Outcome]:
    return (
        Outcome.objects.filter(action=action).select_related("recorded_by").order_by("-date", "-id")
    )


def activity_feedback(user: Any, action: Action) -> QuerySet[Activity]:
    """The action's activities with their feedback summary (average satisfaction by kind
    of respondent, response and link counts), in one query."""
    # A partner's counts cover only its own focal points' answers (as ``feedback_for``).
    scope = Q()
    if not is_staff(user) and user.role == "partner":
        scope = Q(feedback__respondent=RespondentKind.PARTNER)
    return (
        Activity.objects.filter(action=action)
        .annotate(
            responses=Count("feedback", filter=scope, distinct=True),
            participant_satisfaction=Avg(
                "feedback__satisfaction",
                filter=Q(feedback__respondent=RespondentKind.PARTICIPANT) & scope,
            ),
            partner_satisfaction=Avg(
                "feedback__satisfaction",
                filter=Q(feedback__respondent=RespondentKind.PARTNER) & scope,
            ),
            links=Count("feedback_links", distinct=True),
            links_unused=Count(
                "feedback_links", filter=Q(feedback_links__used_at__isnull=True), distinct=True
            ),
        )
        .order_by("start_date", "position", "id")
    )


def feedback_links_for(user: Any) -> QuerySet[FeedbackLink]:
    """Feedback links are staff business (they are handed out to participants)."""
    if not is_staff(user):
        return FeedbackLink.objects.none()
    return FeedbackLink.objects.select_related("activity", "activity__action")


def feedback_links(activity: Activity) -> QuerySet[FeedbackLink]:
    return FeedbackLink.objects.filter(activity=activity).order_by("created_at", "id")


def feedback_link(token: str) -> FeedbackLink:
    """The link a participant opened (no login), with the activity it is about, or 404."""
    try:
        return FeedbackLink.objects.select_related("activity", "activity__action").get(
            token=str(token)
        )
    except FeedbackLink.DoesNotExist:
        raise NotFound() from None


def evaluator_home(user: Any) -> QuerySet[Action]:
    """The evaluator's assigned actions with what "my evaluations" shows, in one query."""
    evaluation = FinalEvaluation.objects.filter(action=OuterRef("pk"))
    return (
        actions_for(user)
        .select_related("organisation", "country", "evaluation")
        .annotate(
            indicator_count=Count("indicators", distinct=True),
            off_track=Count(
                "indicators",
                filter=Q(indicators__progress_status__in=["off_track", "at_risk"]),
                distinct=True,
            ),
            not_measured=Count(
                "indicators",
                filter=Q(indicators__progress_status="not_measured"),
                distinct=True,
            ),
            submitted=Exists(evaluation.filter(status=EvaluationStatus.SUBMITTED)),
        )
        .order_by("submitted", "end_date", "id")
    )
