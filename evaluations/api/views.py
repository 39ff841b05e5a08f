"""API of monitoring and evaluation: indicators, measurements, outcomes, feedback, feedback
links and final evaluations. Thin: every write is an ``evaluations.services`` call, every
read an ``evaluations.selectors`` query scoped to the user (outside it: 404, or an empty
list)."""

from __future__ import annotations

from typing import Any, cast

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action as route
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from cbportal.accounts.models import User
from cbportal.accounts.permissions import is_staff
from cbportal.core.api.exports import ExportMixin
from cbportal.core.api.permissions import IsAuthenticatedAndVerified
from cbportal.core.api.transitions import transition_schema, transition_text
from cbportal.core.errors import (
    ApplicationError,
    NotFound,
    TransitionForbidden,
    TransitionNotAllowed,
)
from evaluations import permissions, selectors, services
from evaluations.api.filters import (
    EvaluationFilter,
    FeedbackFilter,
    FeedbackLinkFilter,
    IndicatorFilter,
    MeasurementFilter,
    OutcomeFilter,
)
from evaluations.api.serializers import (
    EvaluationSerializer,
    EvaluationWriteSerializer,
    FeedbackLinksCreateSerializer,
    FeedbackLinkSerializer,
    FeedbackSerializer,
    FollowUpSerializer,
    IndicatorSerializer,
    MeasurementSerializer,
    OutcomeSerializer,
)
from evaluations.exports import EVALUATION_COLUMNS, INDICATOR_COLUMNS, indicator_rows
from evaluations.models import (
    Feedback,
    FeedbackLink,
    FinalEvaluation,
    Indicator,
    Measurement,
    Outcome,
)


def _user(request: Any) -> User:
    return cast(User, request.user)  # IsAuthenticated guards every view here


def _visible(queryset: Any, pk: Any) -> Any:
    """The object with this id among those the user may see; a malformed id (``abc``,
    ``null``) is as unknown as an absent one: 404, never a 500."""
    try:
        found = queryset.filter(pk=pk).first()
    except (ValueError, TypeError):
        found = None
    if found is None:
        raise NotFound()
    return found


def _stays_with(data: dict[str, Any], field: str, current_id: int, message: str) -> None:
    """Drop ``field`` (a related object) from ``data``; refuse a change of it."""
    if field in data and data.pop(field).pk != current_id:
        raise ApplicationError(message, field=field)


def _multipart_schema(serializer: Any, description: str) -> Any:
    return extend_schema(
        request={"application/json": serializer, "multipart/form-data": serializer},
        responses={201: serializer},
        description=description,
    )


# --- indicators ---------------------------------------------------------------------------


class IndicatorViewSet(
    ExportMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Indicators of the actions the user may see, each with its measurements (newest
    first) and its progress. Staff and the action's assigned evaluators define and change
    them (from design until the action is closed); one with measurements cannot be removed
    (409). ``export/`` downloads one row per measurement."""

    serializer_class = IndicatorSerializer
    filterset_class = IndicatorFilter
    search_fields = ["name"]
    ordering_fields = ["name", "latest_date", "progress", "progress_status", "created_at"]
    ordering = ["action_id", "position", "id"]
    conflict_actions = ("create", "partial_update", "destroy")
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    export_columns = INDICATOR_COLUMNS
    export_filename = "indicators"
    queryset = Indicator.objects.none()

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Indicator.objects.none()
        return selectors.indicator_list(self.request.user)

    def get_object(self) -> Indicator:
        return selectors.indicator_detail(self.request.user, self.kwargs["pk"])

    def export_rows(self, queryset: Any) -> Any:
        return indicator_rows(queryset)

    def _fresh(self, pk: int) -> Indicator:
        return selectors.indicator_detail(self.request.user, pk)

    @staticmethod
    def _data(validated: dict[str, Any]) -> dict[str, Any]:
        data = dict(validated)
        if "objective_id" in data:
            data["objective"] = data.pop("objective_id")
        return data

    def perform_create(self, serializer: Any) -> None:
        data = self._data(serializer.validated_data)
        action = data.pop("action")
        created = services.indicator_create(action_id=action.pk, by=_user(self.request), data=data)
        serializer.instance = self._fresh(created.pk)

    def perform_update(self, serializer: Any) -> None:
        instance = serializer.instance
        data = self._data(serializer.validated_data)
        _stays_with(data, "action", instance.action_id, _("An indicator stays with its action."))
        services.indicator_update(indicator_id=instance.pk, by=_user(self.request), data=data)
        serializer.instance = self._fresh(instance.pk)

    def perform_destroy(self, instance: Indicator) -> None:
        services.indicator_delete(indicator_id=instance.pk, by=_user(self.request))


# --- measurements -------------------------------------------------------------------------


class MeasurementViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Measurements of the indicators the user may see. Staff and the assigned evaluators
    record them (multipart/form-data to attach an evidence file); staff, or the evaluator
    who recorded one, remove a mistaken one. The indicator's progress follows."""

    serializer_class = MeasurementSerializer
    filterset_class = MeasurementFilter
    ordering_fields = ["date", "recorded_at", "value"]
    ordering = ["-date", "-id"]
    conflict_actions = ("create", "destroy")
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    queryset = Measurement.objects.none()

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Measurement.objects.none()
        return selectors.measurements_for(self.request.user)

    def get_object(self) -> Measurement:
        return cast(Measurement, _visible(self.get_queryset(), self.kwargs["pk"]))

    @_multipart_schema(
        MeasurementSerializer,
        "Staff or an assigned evaluator: record a dated value (it must suit the unit and fall "
        "within the action's period). Attach an evidence file with multipart/form-data.",
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        indicator = data.pop("indicator")
        created = services.measurement_record(
            indicator_id=indicator.pk, by=_user(self.request), data=data
        )
        serializer.instance = self.get_queryset().get(pk=created.pk)

    def perform_destroy(self, instance: Measurement) -> None:
        services.measurement_delete(measurement_id=instance.pk, by=_user(self.request))


# --- outcomes -----------------------------------------------------------------------------


class OutcomeViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Outcome logs of the actions the user may see: what changed, at which capacity
    level, with what evidence. Staff and the assigned evaluators log them; staff, or the
    evaluator who logged one, remove it."""

    serializer_class = OutcomeSerializer
    filterset_class = OutcomeFilter
    search_fields = ["description", "evidence"]
    ordering_fields = ["date", "recorded_at"]
    ordering = ["-date", "-id"]
    conflict_actions = ("create", "destroy")
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    queryset = Outcome.objects.none()

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Outcome.objects.none()
        return selectors.outcomes_for(self.request.user)

    def get_object(self) -> Outcome:
        return cast(Outcome, _visible(self.get_queryset(), self.kwargs["pk"]))

    @_multipart_schema(
        OutcomeSerializer,
        "Staff or an assigned evaluator: log an observed change (dated within the action's "
        "period). Attach an evidence file with multipart/form-data.",
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        action = data.pop("action")
        created = services.outcome_record(action_id=action.pk, by=_user(self.request), data=data)
        serializer.instance = self.get_queryset().get(pk=created.pk)

    def perform_destroy(self, instance: Outcome) -> None:
        services.outcome_delete(outcome_id=instance.pk, by=_user(self.request))


# --- feedback -----------------------------------------------------------------------------


class FeedbackViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Feedback on activities. Staff see all of it, an evaluator that of their actions, a
    partner only what its own focal points gave (participants answer in confidence). A
    partner focal point gives their own feedback once per activity of a running or
    finished action (a second answer: 409)."""

    serializer_class = FeedbackSerializer
    filterset_class = FeedbackFilter
    ordering_fields = ["submitted_at", "satisfaction"]
    ordering = ["-submitted_at", "-id"]
    conflict_actions = ("create",)
    queryset = Feedback.objects.none()

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Feedback.objects.none()
        return selectors.feedback_for(self.request.user)

    def get_object(self) -> Feedback:
        return cast(Feedback, _visible(self.get_queryset(), self.kwargs["pk"]))

    def perform_create(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        activity = data.pop("activity")
        created = services.feedback_submit(
            activity_id=activity.pk, by=_user(self.request), data=data
        )
        serializer.instance = self.get_queryset().get(pk=created.pk)


class StaffOnly(IsAuthenticatedAndVerified):
    message = gettext_lazy("Only programme staff manage feedback links.")

    def has_permission(self, request: Any, view: Any) -> bool:
        return super().has_permission(request, view) and is_staff(request.user)


class FeedbackLinkViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Staff: one-response feedback links for an activity's participants (no account
    needed), to share by email, on a slide or on paper. Nobody else sees them."""

    serializer_class = FeedbackLinkSerializer
    filterset_class = FeedbackLinkFilter
    permission_classes = [StaffOnly]
    ordering_fields = ["created_at", "used_at"]
    ordering = ["created_at", "id"]
    conflict_actions = ("create",)
    queryset = FeedbackLink.objects.none()

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return FeedbackLink.objects.none()
        return selectors.feedback_links_for(self.request.user)

    @extend_schema(
        request=FeedbackLinksCreateSerializer,
        responses={201: FeedbackLinkSerializer(many=True)},
        description="Staff: make `count` links for the activity of a running or finished "
        "action; the answer lists them with the public address to share.",
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        form = FeedbackLinksCreateSerializer(data=request.data, context={"request": request})
        form.is_valid(raise_exception=True)
        links = services.feedback_links_create(
            activity_id=form.validated_data["activity"].pk,
            by=_user(request),
            count=form.validated_data["count"],
        )
        return Response(self.get_serializer(links, many=True).data, status=status.HTTP_201_CREATED)


# --- final evaluations --------------------------------------------------------------------


class EvaluationViewSet(
    ExportMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Final evaluations. The action's assigned evaluator starts the draft (``POST`` with
    ``action``), edits it (``PATCH``) and ``submit``s it once the action is completed and
    every criterion is rated and justified; staff may then close the action and turn a
    recommendation into a follow-up request. Staff see every evaluation, evaluators those
    of their actions, the partner its actions' submitted ones."""

    serializer_class = EvaluationSerializer
    filterset_class = EvaluationFilter
    search_fields = ["action__reference", "action__title", "findings"]
    ordering_fields = ["created_at", "submitted_at", "status"]
    ordering = ["-created_at", "-id"]
    conflict_actions = ("create", "partial_update", "submit", "follow_up")
    http_method_names = ["get", "post", "patch", "head", "options"]
    export_columns = EVALUATION_COLUMNS
    export_filename = "evaluations"
    queryset = FinalEvaluation.objects.none()

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return FinalEvaluation.objects.none()
        return selectors.evaluations_for(_user(self.request))

    def get_object(self) -> FinalEvaluation:
        return selectors.evaluation_detail(_user(self.request), self.kwargs["pk"])

    def _answer(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=pk)
        return Response(self.get_serializer(fresh).data, status=code)

    @extend_schema(
        request=EvaluationWriteSerializer,
        responses={201: EvaluationSerializer},
        description="The action's assigned evaluator: start the draft final evaluation "
        "(an action has one; 409 when it exists already — change it with PATCH).",
    )
    def create(self, request: Request) -> Response:
        form = EvaluationWriteSerializer(data=request.data, context={"request": request})
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        action = data.pop("action")
        # Who may write it comes before whether it exists: staff see the draft but may
        # not start one (403, as the service says), not "it exists already" (409).
        if not permissions.is_assigned_evaluator(_user(request), action):
            raise TransitionForbidden(
                _("Only an evaluator assigned to this action writes its final evaluation.")
            )
        existing = selectors.evaluation_for_action(_user(request), action)
        if existing is not None:
            raise TransitionNotAllowed(
                _("This action already has a final evaluation (%(id)s): change it instead.")
                % {"id": existing.pk}
            )
        evaluation = services.evaluation_save(action_id=action.pk, by=_user(request), data=data)
        return self._answer(evaluation.pk, status.HTTP_201_CREATED)

    @extend_schema(
        request=EvaluationWriteSerializer,
        responses=EvaluationSerializer,
        description="The action's assigned evaluator: change the draft (only the fields "
        "sent; `recommendations` replaces the list). A submitted evaluation cannot change.",
    )
    def partial_update(self, request: Request, pk: Any = None) -> Response:
        evaluation = self.get_object()
        form = EvaluationWriteSerializer(
            data=request.data, partial=True, context={"request": request}
        )
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        _stays_with(data, "action", evaluation.action_id, _("An evaluation stays with its action."))
        services.evaluation_save(action_id=evaluation.action_id, by=_user(request), data=data)
        return self._answer(evaluation.pk)

    @transition_schema(
        EvaluationSerializer,
        "The assigned evaluator: submit the complete evaluation of a completed action "
        "(409 while incomplete or before completion); staff may then close the action.",
    )
    @route(detail=True, methods=["post"])
    def submit(self, request: Request, pk: Any = None) -> Response:
        evaluation = self.get_object()
        services.evaluation_submit(
            evaluation_id=evaluation.pk, by=_user(request), comment=transition_text(request.data)
        )
        return self._answer(evaluation.pk)

    @extend_schema(
        request=None,
        responses={201: FollowUpSerializer},
        description="Staff: turn a recommendation of a submitted evaluation into a new draft "
        "request for the same partner (once per recommendation).",
    )
    @route(
        detail=True,
        methods=["post"],
        url_path=r"recommendations/(?P<recommendation_id>\d+)/follow-up",
        url_name="recommendation-follow-up",
    )
    def follow_up(self, request: Request, pk: Any = None, recommendation_id: str = "") -> Response:
        evaluation = self.get_object()
        recommendation = next(
            (r for r in evaluation.recommendations.all() if r.pk == int(recommendation_id)),
            None,
        )
        if recommendation is None:
            raise NotFound()
        opened = services.recommendation_follow_up(
            recommendation_id=recommendation.pk, by=_user(request)
        )
        url = reverse("api:request-detail", args=[opened.pk])
        return Response(
            FollowUpSerializer(
                {"request": opened.pk, "reference": opened.reference, "url": url}
            ).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": url},
        )
