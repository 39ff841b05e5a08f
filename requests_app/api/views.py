from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_field,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from cbportal.accounts.models import Organisation, User
from cbportal.accounts.permissions import is_staff
from cbportal.core.api.exports import ExportMixin
from cbportal.core.api.filters import VisibleChoiceFilter
from cbportal.core.api.schema import file_download
from cbportal.core.api.transitions import transition_schema, transition_text
from cbportal.core.downloads import protected_file_response
from cbportal.core.errors import NotFound
from cbportal.core.uploads import DOCUMENTS
from requests_app import selectors, services
from requests_app.api.serializers import (
    AssessmentSerializer,
    AttachmentSerializer,
    AttachmentUploadSerializer,
    RequestDetailSerializer,
    RequestSerializer,
)
from requests_app.exports import REQUEST_COLUMNS
from requests_app.models import AssessmentStatus, AssistanceRequest, NeedsAssessment, RequestStatus


def _user(request: Any) -> User:
    return cast(User, request.user)  # IsAuthenticated guards every view here


@extend_schema_field(OpenApiTypes.INT)
def visible_organisations(user: Any) -> QuerySet[Organisation]:
    if user is None:
        return Organisation.objects.none()
    if is_staff(user):
        return Organisation.objects.all()
    return Organisation.objects.filter(pk=user.organisation_id)


class RequestFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=RequestStatus.choices)
    country = filters.CharFilter(field_name="country__code", lookup_expr="iexact")
    region = filters.CharFilter(field_name="country__region")
    organisation = VisibleChoiceFilter(
        visible_organisations,
        message=_("There is no organisation %(value)s among those whose requests you may see."),
    )
    thematic_area = filters.CharFilter(field_name="thematic_areas__slug", distinct=True)
    gcm_objective = filters.NumberFilter(field_name="gcm_objectives__number", distinct=True)
    submitted_after = filters.IsoDateTimeFilter(field_name="submitted_at", lookup_expr="gte")
    submitted_before = filters.IsoDateTimeFilter(field_name="submitted_at", lookup_expr="lt")

    class Meta:
        model = AssistanceRequest
        fields = ["status", "country", "region", "organisation", "thematic_area", "gcm_objective"]


# The download takes the list's filters, search and ordering: show them in the schema.
class RequestViewSet(
    ExportMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Assistance requests. Partners create and edit their organisation's drafts and fire
    ``submit``, ``respond`` and ``withdraw``; staff triage (``start-review``,
    ``request-info``, ``accept``, ``decline``). Another organisation's request is a 404."""

    filterset_class = RequestFilter
    export_columns = REQUEST_COLUMNS
    export_filename = "requests"
    conflict_actions = (
        "update",
        "partial_update",
        "attachments",
        "submit",
        "start_review",
        "request_info",
        "respond",
        "accept",
        "decline",
        "withdraw",
    )
    search_fields = ["reference", "title", "problem_statement"]
    ordering_fields = ["submitted_at", "created_at", "reference", "title", "status"]
    ordering = ["-created_at", "-id"]
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    queryset = AssistanceRequest.objects.none()

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return AssistanceRequest.objects.none()
        qs = selectors.request_list(self.request.user)
        if self.action == "retrieve":
            qs = qs.prefetch_related("messages", "attachments")
        return qs

    def get_serializer_class(self) -> Any:
        return RequestDetailSerializer if self.action == "retrieve" else RequestSerializer

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.request_create(
            by=_user(self.request), data=serializer.validated_data
        )

    def perform_update(self, serializer: Any) -> None:
        instance = self.get_object()
        serializer.instance = services.request_update(
            request_id=instance.pk, by=_user(self.request), data=serializer.validated_data
        )

    def _fire(self, request: Request, pk: Any, name: str) -> Response:
        obj = self.get_object()
        services.request_transition(
            request_id=obj.pk, name=name, by=_user(request), text=transition_text(request.data)
        )
        fresh = self.get_queryset().prefetch_related("messages", "attachments").get(pk=obj.pk)
        return Response(RequestDetailSerializer(fresh, context=self.get_serializer_context()).data)

    @transition_schema(
        RequestDetailSerializer, "Partner: submit a complete draft (assigns the reference)."
    )
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: Any = None) -> Response:
        return self._fire(request, pk, "submit")

    @transition_schema(
        RequestDetailSerializer, "Staff: start the review; you become the case officer."
    )
    @action(detail=True, methods=["post"], url_path="start-review")
    def start_review(self, request: Request, pk: Any = None) -> Response:
        return self._fire(request, pk, "start-review")

    @transition_schema(
        RequestDetailSerializer, "Staff: ask the partner a question (`message` required)."
    )
    @action(detail=True, methods=["post"], url_path="request-info")
    def request_info(self, request: Request, pk: Any = None) -> Response:
        return self._fire(request, pk, "request-info")

    @transition_schema(
        RequestDetailSerializer, "Partner: answer the question (`message` required)."
    )
    @action(detail=True, methods=["post"])
    def respond(self, request: Request, pk: Any = None) -> Response:
        return self._fire(request, pk, "respond")

    @transition_schema(RequestDetailSerializer, "Staff: accept; the needs assessment opens.")
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: Any = None) -> Response:
        return self._fire(request, pk, "accept")

    @transition_schema(RequestDetailSerializer, "Staff: decline with a `reason` the partner reads.")
    @action(detail=True, methods=["post"])
    def decline(self, request: Request, pk: Any = None) -> Response:
        return self._fire(request, pk, "decline")

    @transition_schema(RequestDetailSerializer, "Partner: withdraw the request.")
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: Any = None) -> Response:
        return self._fire(request, pk, "withdraw")

    @extend_schema(
        methods=["POST"],
        request={"multipart/form-data": AttachmentUploadSerializer},
        responses={201: AttachmentSerializer},
    )
    @extend_schema(methods=["GET"], responses=AttachmentSerializer(many=True))
    # The attachments come as one plain list: neither the requests' pages nor their filters.
    @action(
        detail=True,
        methods=["get", "post"],
        parser_classes=[MultiPartParser, FormParser],
        pagination_class=None,
        filter_backends=[],
    )
    def attachments(self, request: Request, pk: Any = None) -> Response:
        obj = self.get_object()
        if request.method == "GET":
            return Response(AttachmentSerializer(obj.attachments.all(), many=True).data)
        form = AttachmentUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        attachment = services.attachment_add(
            request_id=obj.pk,
            by=_user(request),
            upload=form.validated_data["file"],
            kind=form.validated_data["kind"],
        )
        return Response(AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=file_download(DOCUMENTS))
    @action(detail=True, methods=["get"], url_path=r"attachments/(?P<attachment_id>\d+)")
    def attachment(self, request: Request, pk: Any = None, attachment_id: str = "") -> Any:
        obj = self.get_object()
        attachment = obj.attachments.filter(pk=int(attachment_id)).first()
        if attachment is None:
            raise NotFound()
        return protected_file_response(
            attachment.file, filename=attachment.original_name, content_type=attachment.content_type
        )


class AssessmentFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=AssessmentStatus.choices)
    request = filters.NumberFilter(field_name="request_id")
    country = filters.CharFilter(field_name="request__country__code", lookup_expr="iexact")

    class Meta:
        model = NeedsAssessment
        fields = ["status", "request", "country"]


class AssessmentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Needs assessments (opened when a request is accepted) with their capacity gaps.
    Staff edit while in progress (``gaps`` replaces the list: items with ``id`` update,
    without add, missing ones are removed) and ``share``; the partner ``return``s or
    ``validate``s."""

    serializer_class = AssessmentSerializer
    conflict_actions = ("update", "partial_update", "share", "return_", "validate")
    filterset_class = AssessmentFilter
    search_fields = ["request__reference", "request__title", "summary"]
    ordering_fields = ["created_at", "shared_at", "validated_at"]
    ordering = ["-created_at", "-id"]
    queryset = NeedsAssessment.objects.none()

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return NeedsAssessment.objects.none()
        return selectors.assessment_list(self.request.user)

    def perform_update(self, serializer: Any) -> None:
        instance = self.get_object()
        data = dict(serializer.validated_data)
        gaps = data.pop("gaps", None)
        services.assessment_update(
            assessment_id=instance.pk, by=_user(self.request), data=data, gaps=gaps
        )
        serializer.instance = self.get_queryset().get(pk=instance.pk)

    def _fire(self, request: Request, name: str) -> Response:
        obj = self.get_object()
        services.assessment_transition(
            assessment_id=obj.pk, name=name, by=_user(request), text=transition_text(request.data)
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=obj.pk)).data)

    @transition_schema(
        AssessmentSerializer, "Staff: share with the partner (needs at least one gap)."
    )
    @action(detail=True, methods=["post"])
    def share(self, request: Request, pk: Any = None) -> Response:
        return self._fire(request, "share")

    @transition_schema(AssessmentSerializer, "Partner: ask for changes (`comment` required).")
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request: Request, pk: Any = None) -> Response:
        return self._fire(request, "return")

    @transition_schema(AssessmentSerializer, "Partner: validate the assessment (ownership).")
    @action(detail=True, methods=["post"])
    def validate(self, request: Request, pk: Any = None) -> Response:
        return self._fire(request, "validate")
