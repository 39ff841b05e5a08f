"""API of the roster (``experts``), deployments and matching. Thin: every write is an
``experts.services`` call, every read an ``experts.selectors`` query scoped to the user."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters import fields as filter_fields
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action as route
from rest_framework.metadata import SimpleMetadata
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from actions import selectors as action_selectors
from actions.models import Action, Activity, ExpertiseNeed
from cbportal.accounts.models import Country, Region, User
from cbportal.accounts.permissions import is_staff
from cbportal.core.api.exports import ExportMixin
from cbportal.core.api.filters import VisibleChoiceFilter
from cbportal.core.api.schema import file_download
from cbportal.core.api.transitions import transition_schema, transition_text
from cbportal.core.downloads import protected_file_response
from cbportal.core.errors import ApplicationError, NotFound
from cbportal.core.exports import Column
from cbportal.core.models import Language, ThematicArea
from cbportal.core.uploads import CV_FORMATS, DOCUMENTS
from experts import permissions, selectors, services
from experts.api.serializers import (
    ConfirmInputSerializer,
    CvUploadSerializer,
    DeploymentSerializer,
    ExpertSerializer,
    MatchJobSerializer,
    MatchListSerializer,
    MatchQueuedSerializer,
    MissionReportInputSerializer,
    MissionReportSerializer,
    RateInputSerializer,
    UnavailabilityAddedSerializer,
    UnavailabilitySerializer,
)
from experts.exports import EXPERT_COLUMNS, deployment_columns
from experts.models import (
    AdministrationType,
    CefrLevel,
    Deployment,
    DeploymentStatus,
    Expert,
    MatchJob,
    VettingStatus,
)


def _user(request: Any) -> User:
    return cast(User, request.user)  # IsAuthenticated guards every view here


# --- experts ------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.STR)
class CodeFilter(filters.ModelChoiceFilter):
    """Reference data by code or slug (checked only: ``roster_search`` does the
    filtering); an unknown value is a 400."""


class _CountryCodeField(filter_fields.ModelChoiceField):
    def to_python(self, value: Any) -> Any:
        return super().to_python(value.upper() if isinstance(value, str) else value)


class CountryCodeFilter(CodeFilter):
    """A country by ISO code, any case."""

    field_class = _CountryCodeField

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", Country.objects.all())
        kwargs.setdefault("to_field_name", "code")
        super().__init__(**kwargs)


class RosterFilter(filters.FilterSet):
    """Validates the roster search parameters (bad values are a 400) and hands them to
    ``selectors.roster_search``, which does the searching."""

    q = filters.CharFilter(label="Words, each found in the name, institution, biography or skills")
    search = filters.CharFilter(label="Same as q")
    thematic_area = CodeFilter(queryset=ThematicArea.objects.all(), to_field_name="slug")
    skill = filters.CharFilter(label="A skill name (any case)")
    language = CodeFilter(queryset=Language.objects.all(), to_field_name="code")
    min_level = filters.ChoiceFilter(
        choices=CefrLevel.choices, label="Minimum CEFR level in language"
    )
    country = CountryCodeFilter(label="Country of experience")
    region = filters.ChoiceFilter(choices=Region.choices, label="Region of experience")
    administration_type = filters.ChoiceFilter(choices=AdministrationType.choices)
    nationality = CountryCodeFilter()
    available_from = filters.DateFilter(label="Free from this date (with available_to)")
    available_to = filters.DateFilter(label="Free until this date")
    vetting_status = filters.ChoiceFilter(choices=VettingStatus.choices)
    is_active = filters.BooleanFilter()

    class Meta:
        model = Expert
        fields: list[str] = []

    def filter_queryset(self, queryset: Any) -> Any:
        data = self.form.cleaned_data
        start, end = data.get("available_from"), data.get("available_to")
        if start and end and end < start:
            raise ApplicationError(_("The end must not be before the start."), field="available_to")
        if data.get("min_level") and not data.get("language"):
            raise ApplicationError(_("Name the language the level is for."), field="language")
        params = {
            "q": " ".join(p for p in (data.get("q"), data.get("search")) if p),
            "thematic_area": data["thematic_area"].slug if data.get("thematic_area") else "",
            "skill": data.get("skill") or "",
            "language": data["language"].code if data.get("language") else "",
            "min_level": data.get("min_level") or "",
            "country": data["country"].code if data.get("country") else "",
            "region": data.get("region") or "",
            "administration_type": data.get("administration_type") or "",
            "nationality": data["nationality"].code if data.get("nationality") else "",
            "available_from": start,
            "available_to": end,
            "vetting_status": data.get("vetting_status") or "",
            "is_active": data.get("is_active"),
        }
        # roster_search starts from what the user may see (the same scope as ``queryset``).
        return selectors.roster_search(self.request.user, params)


@extend_schema_view(
    # Distinct from the expert's own data export (``experts/{id}/export/``); the download
    # takes the roster search's filters and ordering: show them in the schema.
    export=extend_schema(operation_id="v1_experts_roster_export")
)
class ExpertViewSet(
    ExportMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """The expert roster. Staff see, search and edit every profile and vet it (``approve``,
    ``reject``); an expert sees and edits only their own (and creates it once); partners
    and evaluators see none. The CV is for staff and the expert only."""

    serializer_class = ExpertSerializer
    filterset_class = RosterFilter
    export_columns = EXPERT_COLUMNS
    export_filename = "experts"
    ordering_fields = ["full_name", "created_at", "years_experience", "vetting_status"]
    ordering = ["full_name", "id"]
    conflict_actions = (
        "create",
        "update",
        "partial_update",
        "approve",
        "reject",
        "cv",
        "unavailability",
        "unavailability_period",
        "request_deletion",
        "anonymise",
    )
    queryset = Expert.objects.none()

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Expert.objects.none()
        return selectors.experts_for(self.request.user)

    def filter_queryset(self, queryset: Any) -> Any:
        # The roster search prefetches what the list shows, except these two.
        return (
            super()
            .filter_queryset(queryset)
            .select_related("residence")
            .prefetch_related("countries_of_experience")
        )

    def get_object(self) -> Expert:
        return selectors.expert_detail(self.request.user, self.kwargs["pk"])

    def _fresh(self, pk: int) -> Expert:
        return selectors.expert_detail(self.request.user, pk)

    def perform_create(self, serializer: Any) -> None:
        created = services.expert_create(
            by=_user(self.request), data=dict(serializer.validated_data)
        )
        serializer.instance = self._fresh(created.pk)

    def perform_update(self, serializer: Any) -> None:
        instance = serializer.instance
        services.expert_update(
            expert_id=instance.pk, by=_user(self.request), data=dict(serializer.validated_data)
        )
        serializer.instance = self._fresh(instance.pk)

    def _vet(self, request: Request, decision: str) -> Response:
        expert = self.get_object()
        services.expert_vet(
            expert_id=expert.pk,
            by=_user(request),
            decision=decision,
            note=transition_text(request.data),
        )
        return Response(self.get_serializer(self._fresh(expert.pk)).data)

    @transition_schema(ExpertSerializer, "Staff: approve the profile for the roster.")
    @route(detail=True, methods=["post"])
    def approve(self, request: Request, pk: Any = None) -> Response:
        return self._vet(request, "approve")

    @transition_schema(
        ExpertSerializer, "Staff: reject the profile (`reason` required; the expert reads it)."
    )
    @route(detail=True, methods=["post"])
    def reject(self, request: Request, pk: Any = None) -> Response:
        return self._vet(request, "reject")

    @extend_schema(
        methods=["GET"],
        responses=file_download(CV_FORMATS),
        description="Staff or the expert: download the CV.",
    )
    @extend_schema(
        methods=["PUT", "POST"],
        request={"multipart/form-data": CvUploadSerializer},
        responses={200: ExpertSerializer},
        description="Staff or the expert: store the CV (PDF, DOCX or ODT); replaces any other.",
    )
    @extend_schema(
        methods=["DELETE"],
        responses={204: None},
        description="Staff or the expert: remove the CV.",
    )
    @route(
        detail=True,
        methods=["get", "put", "post", "delete"],
        parser_classes=[MultiPartParser, FormParser],
    )
    def cv(self, request: Request, pk: Any = None) -> Any:
        expert = self.get_object()
        user = _user(request)
        if request.method == "GET":
            if not permissions.can_view_cv(user, expert) or not expert.cv:
                raise NotFound()
            return protected_file_response(
                expert.cv, filename=expert.cv_name, content_type=expert.cv_content_type
            )
        if request.method == "DELETE":
            services.expert_cv_remove(expert_id=expert.pk, by=user)
            return Response(status=status.HTTP_204_NO_CONTENT)
        form = CvUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        services.expert_cv_upload(expert_id=expert.pk, by=user, upload=form.validated_data["file"])
        return Response(self.get_serializer(self._fresh(expert.pk)).data)

    @extend_schema(
        methods=["GET"],
        responses=UnavailabilitySerializer(many=True),
        description="The periods when the expert cannot be deployed (not paginated).",
    )
    @extend_schema(
        methods=["POST"],
        request=UnavailabilitySerializer,
        responses={201: UnavailabilityAddedSerializer},
        description="Add a period; periods that overlap or touch it are merged into one.",
    )
    # One plain list: neither the roster's pages nor its filters.
    @route(detail=True, methods=["get", "post"], pagination_class=None, filter_backends=[])
    def unavailability(self, request: Request, pk: Any = None) -> Response:
        expert = self.get_object()
        if request.method == "GET":
            return Response(UnavailabilitySerializer(expert.unavailability.all(), many=True).data)
        form = UnavailabilitySerializer(data=request.data)
        form.is_valid(raise_exception=True)
        period, merged = services.unavailability_add(
            expert_id=expert.pk, by=_user(request), **form.validated_data
        )
        period.merged = merged  # type: ignore[attr-defined]
        return Response(UnavailabilityAddedSerializer(period).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None}, description="Remove one unavailability period.")
    @route(
        detail=True,
        methods=["delete"],
        url_path=r"unavailability/(?P<period_id>\d+)",
        url_name="unavailability-period",
    )
    def unavailability_period(self, request: Request, pk: Any = None, period_id: str = "") -> Any:
        expert = self.get_object()
        services.unavailability_remove(
            expert_id=expert.pk, period_id=int(period_id), by=_user(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        description="The expert or staff: everything CB Portal holds about the expert (JSON).",
    )
    # Named ``data_export`` (URL unchanged) because ``export`` is the roster download of
    # ExportMixin (``GET experts/export/?file=csv|xlsx``).
    @route(detail=True, methods=["get"], url_path="export", url_name="data-export")
    def data_export(self, request: Request, pk: Any = None) -> Response:
        expert = self.get_object()
        data = services.expert_export(expert_id=expert.pk, by=_user(request))
        response = Response(data)
        response["Content-Disposition"] = f'attachment; filename="expert-{expert.pk}.json"'
        return response

    @extend_schema(
        request=None,
        responses=ExpertSerializer,
        description="The expert: ask for the profile's data to be deleted (staff confirm).",
    )
    @route(detail=True, methods=["post"], url_path="request-deletion")
    def request_deletion(self, request: Request, pk: Any = None) -> Response:
        expert = self.get_object()
        services.expert_request_deletion(expert_id=expert.pk, by=_user(request))
        return Response(self.get_serializer(self._fresh(expert.pk)).data)

    @extend_schema(
        request=None,
        responses=ExpertSerializer,
        description="Staff: delete the expert's personal data; deployment history stays, "
        "anonymised.",
    )
    @route(detail=True, methods=["post"])
    def anonymise(self, request: Request, pk: Any = None) -> Response:
        expert = self.get_object()
        services.expert_anonymise(expert_id=expert.pk, by=_user(request))
        return Response(self.get_serializer(self._fresh(expert.pk)).data)


# --- deployments --------------------------------------------------------------------------


# What a deployment filter may name: what the user may see on its own, or through one of
# the deployments they may see (an expert sees the action of their mission, not the
# action itself). Anything else is refused (400), not answered with an empty list.


def _seen_deployments(user: Any) -> Any:
    return selectors.deployments_for(user)


def _filter_experts(user: Any) -> QuerySet[Expert]:
    if user is None:
        return Expert.objects.none()
    return Expert.objects.filter(
        Q(pk__in=selectors.experts_for(user).values("pk"))
        | Q(pk__in=_seen_deployments(user).values("expert_id"))
    )


def _filter_needs(user: Any) -> QuerySet[ExpertiseNeed]:
    if user is None:
        return ExpertiseNeed.objects.none()
    return ExpertiseNeed.objects.filter(
        Q(pk__in=action_selectors.needs_for(user).values("pk"))
        | Q(pk__in=_seen_deployments(user).values("need_id"))
    )


def _filter_actions(user: Any) -> QuerySet[Action]:
    if user is None:
        return Action.objects.none()
    return Action.objects.filter(
        Q(pk__in=action_selectors.actions_for(user).values("pk"))
        | Q(pk__in=_seen_deployments(user).values("need__activity__action_id"))
    )


def _filter_activities(user: Any) -> QuerySet[Activity]:
    if user is None:
        return Activity.objects.none()
    return Activity.objects.filter(
        Q(pk__in=action_selectors.activities_for(user).values("pk"))
        | Q(pk__in=_seen_deployments(user).values("need__activity_id"))
    )


class DeploymentFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=DeploymentStatus.choices)
    expert = VisibleChoiceFilter(
        _filter_experts,
        message=gettext_lazy("There is no expert %(value)s among those you may see."),
    )
    expertise_need = VisibleChoiceFilter(
        _filter_needs,
        field_name="need",
        message=gettext_lazy("There is no expertise need %(value)s among those you may see."),
    )
    action = VisibleChoiceFilter(
        _filter_actions,
        field_name="need__activity__action",
        message=gettext_lazy("There is no action %(value)s among those you may see."),
    )
    activity = VisibleChoiceFilter(
        _filter_activities,
        field_name="need__activity",
        message=gettext_lazy("There is no activity %(value)s among those you may see."),
    )

    class Meta:
        model = Deployment
        fields = ["status", "expert", "expertise_need", "action", "activity"]


# The download takes the list's filters, search and ordering: show them in the schema.
class DeploymentViewSet(
    ExportMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Deployments of experts on expertise needs. Staff see all, shortlist (``POST``),
    ``invite``, ``confirm``, ``complete``, ``cancel`` and rate; an expert sees their own
    invitations and missions, ``accept``s or ``decline``s and files the mission report; a
    partner sees the confirmed and completed missions of its organisation's actions;
    evaluators see none."""

    serializer_class = DeploymentSerializer
    filterset_class = DeploymentFilter
    export_filename = "deployments"
    ordering_fields = ["created_at", "invited_at", "expires_at", "start_date", "status"]
    ordering = ["-created_at", "-id"]
    conflict_actions = (
        "create",
        "invite",
        "accept",
        "decline",
        "confirm",
        "complete",
        "cancel",
        "report",
        "rate",
    )
    queryset = Deployment.objects.none()

    @property
    def export_columns(self) -> Sequence[Column]:  # type: ignore[override]
        # The match score and the rating are not everyone's to read (as in the serializer).
        return deployment_columns(self.request.user)

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Deployment.objects.none()
        return selectors.deployment_list(self.request.user)

    def get_object(self) -> Deployment:
        return selectors.deployment_detail(self.request.user, self.kwargs["pk"])

    def _fresh(self, pk: int) -> Deployment:
        return selectors.deployment_detail(self.request.user, pk)

    def _answer(self, deployment: Deployment, code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(self._fresh(deployment.pk)).data, status=code)

    @extend_schema(
        request=DeploymentSerializer,
        responses={201: DeploymentSerializer},
        description="Staff: put an expert on a need's shortlist (an existing deployment of "
        "the expert on the need is returned as it is).",
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # The role first: the body names objects by what the user may see, so without
        # this a partner would get 400 ("does not exist") where the answer is 403.
        if not is_staff(request.user):
            raise exceptions.PermissionDenied(_("Only programme staff can do this."))
        form = self.get_serializer(data=request.data)
        form.is_valid(raise_exception=True)
        deployment = services.deployment_shortlist(
            need_id=form.validated_data["need"].pk,
            expert_id=form.validated_data["expert"].pk,
            by=_user(request),
        )
        return self._answer(deployment, status.HTTP_201_CREATED)

    def _fire(self, request: Request, name: str) -> Response:
        deployment = self.get_object()
        services.deployment_transition(
            deployment_id=deployment.pk,
            name=name,
            by=_user(request),
            text=transition_text(request.data),
        )
        return self._answer(deployment)

    @transition_schema(DeploymentSerializer, "Staff: invite a shortlisted expert.")
    @route(detail=True, methods=["post"])
    def invite(self, request: Request, pk: Any = None) -> Response:
        return self._fire(request, "invite")

    @transition_schema(
        DeploymentSerializer, "The invited expert: accept before the invitation expires."
    )
    @route(detail=True, methods=["post"])
    def accept(self, request: Request, pk: Any = None) -> Response:
        return self._fire(request, "accept")

    @transition_schema(DeploymentSerializer, "The invited expert: decline (`reason` required).")
    @route(detail=True, methods=["post"])
    def decline(self, request: Request, pk: Any = None) -> Response:
        return self._fire(request, "decline")

    @extend_schema(
        request=ConfirmInputSerializer,
        responses={200: DeploymentSerializer},
        description="Staff: confirm an accepted deployment and fix the mission dates "
        "(default: the activity's) and expert-days (default: the need's). Refused (409) "
        "when the expert is booked or unavailable over those dates.",
    )
    @route(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: Any = None) -> Response:
        deployment = self.get_object()
        form = ConfirmInputSerializer(data=request.data or {})
        form.is_valid(raise_exception=True)
        dates = {
            k: form.validated_data[k]
            for k in ("start_date", "end_date", "expert_days")
            if k in form.validated_data
        }
        services.deployment_transition(
            deployment_id=deployment.pk, name="confirm", by=_user(request), text=form.text, **dates
        )
        return self._answer(deployment)

    @transition_schema(
        DeploymentSerializer, "Staff: complete a confirmed mission once its report is filed."
    )
    @route(detail=True, methods=["post"])
    def complete(self, request: Request, pk: Any = None) -> Response:
        return self._fire(request, "complete")

    @transition_schema(
        DeploymentSerializer, "Staff: cancel a deployment not completed (`reason` required)."
    )
    @route(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: Any = None) -> Response:
        return self._fire(request, "cancel")

    @extend_schema(
        methods=["GET"],
        responses=MissionReportSerializer,
        description="The mission report (404 until it is filed).",
    )
    @extend_schema(
        methods=["POST"],
        request={
            "application/json": MissionReportInputSerializer,
            "multipart/form-data": MissionReportInputSerializer,
        },
        responses={201: MissionReportSerializer, 200: MissionReportSerializer},
        description="The deployed expert: file the mission report once the mission has "
        "started (201), or correct it until completion (200). Attachments need "
        "multipart/form-data.",
    )
    @route(
        detail=True,
        methods=["get", "post"],
        parser_classes=[JSONParser, MultiPartParser, FormParser],
    )
    def report(self, request: Request, pk: Any = None) -> Response:
        deployment = self.get_object()
        if request.method == "GET":
            if not hasattr(deployment, "report"):
                raise NotFound()
            return Response(
                MissionReportSerializer(deployment.report, context={"request": request}).data
            )
        first = not hasattr(deployment, "report")
        form = MissionReportInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        services.deployment_report_submit(
            deployment_id=deployment.pk, by=_user(request), **form.validated_data
        )
        report = self._fresh(deployment.pk).report
        return Response(
            MissionReportSerializer(report, context={"request": request}).data,
            status=status.HTTP_201_CREATED if first else status.HTTP_200_OK,
        )

    @extend_schema(responses=file_download(DOCUMENTS))
    @route(
        detail=True,
        methods=["get"],
        url_path=r"report/attachments/(?P<attachment_id>\d+)",
        url_name="report-attachment",
    )
    def report_attachment(self, request: Request, pk: Any = None, attachment_id: str = "") -> Any:
        deployment = self.get_object()
        report = getattr(deployment, "report", None)
        attachment = report.attachments.filter(pk=int(attachment_id)).first() if report else None
        if attachment is None:
            raise NotFound()
        return protected_file_response(
            attachment.file, filename=attachment.original_name, content_type=attachment.content_type
        )

    @extend_schema(
        request=RateInputSerializer,
        responses=DeploymentSerializer,
        description="Staff: rate a completed mission 1–5 (may be corrected); the rating "
        "feeds the track-record component of matching.",
    )
    @route(detail=True, methods=["post"])
    def rate(self, request: Request, pk: Any = None) -> Response:
        deployment = self.get_object()
        form = RateInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        services.deployment_rate(
            deployment_id=deployment.pk,
            by=_user(request),
            rating=form.validated_data["rating"],
            note=form.validated_data["note"],
        )
        return self._answer(deployment)


# --- matching -----------------------------------------------------------------------------


class _BodilessMetadata(SimpleMetadata):
    """OPTIONS without the ``actions`` section: it describes a request body from the view's
    serializer, and these views take no body (and have no serializer: it would be a 500)."""

    def determine_actions(self, request: Any, view: Any) -> dict[str, Any]:
        return {}


class MatchingViewSet(viewsets.GenericViewSet):
    """Matching of the roster against one expertise need (staff). Routed explicitly in
    experts/api/urls.py: ``expertise-needs/<id>/match/``, ``expertise-needs/<id>/matches/``
    and ``match-jobs/<id>/``."""

    metadata_class = _BodilessMetadata
    conflict_actions = ("match",)
    pagination_class = None
    filter_backends: list[Any] = []
    queryset = MatchJob.objects.none()

    def _need(self, pk: Any) -> ExpertiseNeed:
        need = action_selectors.needs_for(self.request.user).filter(pk=pk).first()
        if need is None:
            raise NotFound()
        return need

    @extend_schema(
        request=None,
        responses={202: MatchQueuedSerializer},
        description="Staff: queue a matching run for the need. The answer names the job; "
        "follow its `url` until `status` is `done`, then read the need's `matches`.",
    )
    def match(self, request: Request, pk: Any = None) -> Response:
        need = self._need(pk)
        job = services.match_queue(need_id=need.pk, by=_user(request))
        job.refresh_from_db(fields=["status"])  # an eager worker may have run it already
        url = reverse("api:match-job", args=[job.pk])
        return Response(
            {"job": job.pk, "status": job.status, "url": url},
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": url},
        )

    @extend_schema(
        responses=MatchListSerializer,
        description="Staff: the need's stored shortlist, best first, with each component's "
        "score and the facts behind it, and each expert's deployment on the need if any.",
    )
    def matches(self, request: Request, pk: Any = None) -> Response:
        need = self._need(pk)
        if not is_staff(request.user):
            raise exceptions.PermissionDenied(_("Only programme staff see matching results."))
        results = list(selectors.shortlist(need))
        data = {
            "expertise_need": need.pk,
            "job": selectors.latest_job(need.pk),
            "results_job": results[0].job_id if results else None,
            "results": results,
        }
        context = {"request": request, "deployments": selectors.deployments_by_expert(need)}
        return Response(MatchListSerializer(data, context=context).data)

    @extend_schema(
        responses=MatchJobSerializer,
        description="Staff: a matching run's status, timings, roster size, candidates and "
        "hard exclusions counted by reason.",
    )
    def job(self, request: Request, pk: Any = None) -> Response:
        job = MatchJob.objects.filter(pk=pk).first() if is_staff(request.user) else None
        if job is None:
            raise NotFound()
        return Response(MatchJobSerializer(job).data)
