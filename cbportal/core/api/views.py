from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, inline_serializer
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cbportal.accounts.models import Organisation
from cbportal.core import selectors, services
from cbportal.core.api.permissions import IsAuthenticatedAndVerified, IsProgrammeStaff
from cbportal.core.api.serializers import (
    DeliveryModesInputSerializer,
    GcmObjectiveSerializer,
    LanguageSerializer,
    NotificationPreferenceSerializer,
    NotificationSerializer,
    OrganisationNotificationDefaultSerializer,
    ThematicAreaSerializer,
)
from cbportal.core.errors import ApplicationError
from cbportal.core.models import CONFIGURABLE_CATEGORIES, Notification, NotificationCategory


class ThematicAreaViewSet(viewsets.ReadOnlyModelViewSet):
    """The programme's thematic areas (public reference data), looked up by slug."""

    serializer_class = ThematicAreaSerializer
    permission_classes = [AllowAny]
    lookup_field = "slug"
    search_fields = ["name", "name_fr", "name_es", "slug"]
    ordering_fields = ["position", "name"]
    pagination_class = None

    def get_queryset(self) -> Any:
        return selectors.thematic_areas()


class GcmObjectiveViewSet(viewsets.ReadOnlyModelViewSet):
    """The 23 objectives of the Global Compact for Migration."""

    serializer_class = GcmObjectiveSerializer
    lookup_field = "number"
    permission_classes = [AllowAny]
    pagination_class = None
    search_fields = ["title", "title_fr", "title_es"]
    ordering_fields = ["number"]

    def get_queryset(self) -> Any:
        return selectors.gcm_objectives()


class LanguageViewSet(viewsets.ReadOnlyModelViewSet):
    """ISO 639-1 languages."""

    serializer_class = LanguageSerializer
    lookup_field = "code"
    permission_classes = [AllowAny]
    search_fields = ["code", "name", "name_fr", "name_es"]
    ordering_fields = ["code", "name"]

    def get_queryset(self) -> Any:
        return selectors.languages()


class NotificationFilter(filters.FilterSet):
    unread = filters.BooleanFilter(field_name="read_at", lookup_expr="isnull", label="Unread only")
    category = filters.ChoiceFilter(choices=NotificationCategory.choices)

    class Meta:
        model = Notification
        fields = ["unread", "category", "event"]


class NotificationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The signed-in user's own notifications; others' are 404."""

    serializer_class = NotificationSerializer
    filterset_class = NotificationFilter
    search_fields = ["subject"]
    ordering_fields = ["created_at"]
    queryset = Notification.objects.none()

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        return selectors.notifications_for(self.request.user)

    @extend_schema(request=None, responses=NotificationSerializer)
    @action(detail=True, methods=["post"], url_path="mark-read")
    def mark_read(self, request: Request, pk: str | None = None) -> Response:
        notification = self.get_object()
        notification = services.notification_mark_read(
            notification_id=notification.pk, by=request.user
        )
        return Response(self.get_serializer(notification).data)

    @extend_schema(
        request=None,
        responses=inline_serializer("MarkAllRead", {"updated": serializers.IntegerField()}),
    )
    @action(detail=False, methods=["post"], url_path="mark-all-read")
    def mark_all_read(self, request: Request) -> Response:
        return Response({"updated": services.notification_mark_all_read(by=request.user)})


def _modes(request: Request, *, partial: bool) -> dict[str, str | None]:
    """The body's ``modes``; for ``PUT`` every category it leaves out goes back to the
    default."""
    body = DeliveryModesInputSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    given: dict[str, str | None] = dict(body.validated_data["modes"])
    return given if partial else {**dict.fromkeys(CONFIGURABLE_CATEGORIES), **given}


def _save_modes(save: Any, **kwargs: Any) -> None:
    """Call the service; its refusals point at the body's ``modes.<category>``."""
    try:
        save(**kwargs)
    except ApplicationError as exc:
        if not exc.errors:
            raise
        raise exceptions.ValidationError({"modes": exc.errors}, code=exc.code) from exc


MODES_DESCRIPTION = (
    "`PUT` sets every configurable category (a category left out goes back to the "
    "default); `PATCH` changes only the categories named. An unknown category or mode "
    "answers 400 with `attr` `modes.<category>`."
)


@extend_validation_errors(["invalid"], field_name="modes.KEY", methods=["put", "patch"])
class NotificationPreferencesView(APIView):
    """The signed-in user's notification preferences: per category, immediately by email
    (``immediate``), in one daily digest (``digest``) or in-app only (``in_app``)."""

    def _rows(self, request: Request) -> Response:
        rows = selectors.notification_preferences(request.user)
        return Response(NotificationPreferenceSerializer(rows, many=True).data)

    @extend_schema(
        responses=NotificationPreferenceSerializer(many=True),
        description="Every configurable category with the user's own choice (`mode`, `null` "
        "when they kept the default), the default and what applies now (`effective`).",
    )
    def get(self, request: Request) -> Response:
        return self._rows(request)

    @extend_schema(
        request=DeliveryModesInputSerializer,
        responses=NotificationPreferenceSerializer(many=True),
        description=MODES_DESCRIPTION,
    )
    def put(self, request: Request) -> Response:
        modes = _modes(request, partial=False)
        _save_modes(services.notification_preferences_set, user=request.user, modes=modes)
        return self._rows(request)

    @extend_schema(
        request=DeliveryModesInputSerializer,
        responses=NotificationPreferenceSerializer(many=True),
        description=MODES_DESCRIPTION,
    )
    def patch(self, request: Request) -> Response:
        modes = _modes(request, partial=True)
        _save_modes(services.notification_preferences_set, user=request.user, modes=modes)
        return self._rows(request)


@extend_validation_errors(["invalid"], field_name="modes.KEY", methods=["put", "patch"])
class OrganisationNotificationDefaultsView(APIView):
    """Programme staff: an organisation's notification defaults (its members' own choices
    win over them). Others get 403; an unknown or inactive organisation 404."""

    permission_classes = [IsAuthenticatedAndVerified, IsProgrammeStaff]

    def _organisation(self, pk: int) -> Organisation:
        return get_object_or_404(Organisation.objects.filter(is_active=True), pk=pk)

    def _rows(self, organisation: Organisation) -> Response:
        rows = selectors.organisation_notification_defaults(organisation)
        return Response(OrganisationNotificationDefaultSerializer(rows, many=True).data)

    def _save(self, request: Request, pk: int, *, partial: bool) -> Response:
        organisation = self._organisation(pk)
        modes = _modes(request, partial=partial)
        _save_modes(
            services.organisation_notification_defaults_set,
            organisation=organisation,
            modes=modes,
            by=request.user,
        )
        return self._rows(organisation)

    @extend_schema(
        responses=OrganisationNotificationDefaultSerializer(many=True),
        description="Staff: every configurable category with the organisation's default "
        "(`mode`, `null` when the programme's default applies).",
    )
    def get(self, request: Request, pk: int) -> Response:
        return self._rows(self._organisation(pk))

    @extend_schema(
        request=DeliveryModesInputSerializer,
        responses=OrganisationNotificationDefaultSerializer(many=True),
        description=MODES_DESCRIPTION,
    )
    def put(self, request: Request, pk: int) -> Response:
        return self._save(request, pk, partial=False)

    @extend_schema(
        request=DeliveryModesInputSerializer,
        responses=OrganisationNotificationDefaultSerializer(many=True),
        description=MODES_DESCRIPTION,
    )
    def patch(self, request: Request, pk: int) -> Response:
        return self._save(request, pk, partial=True)
