from __future__ import annotations

from typing import Any

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from cbportal.core import selectors, services
from cbportal.core.api.serializers import (
    GcmObjectiveSerializer,
    LanguageSerializer,
    NotificationSerializer,
    ThematicAreaSerializer,
)
from cbportal.core.models import Notification, NotificationCategory


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
