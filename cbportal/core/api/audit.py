"""``GET /api/v1/audit/`` and ``/api/v1/audit/{id}/``: the audit log, read-only, for
programme staff (approvers included) and administrators. There is no write route at all:
``PUT``, ``PATCH``, ``POST`` and ``DELETE`` answer 405 to everyone."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.permissions import BasePermission

from cbportal.accounts.permissions import is_staff
from cbportal.core import audit, selectors
from cbportal.core.api.permissions import IsAuthenticatedAndVerified
from cbportal.core.models import AuditEntry, AuditKind

DETAIL_LINES_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"label": {"type": "string"}, "value": {"type": "string"}},
        "required": ["label", "value"],
    },
}


class AuditEntrySerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    actor_username = serializers.SerializerMethodField()
    object_type = serializers.SerializerMethodField()
    details = serializers.SerializerMethodField()
    detail_lines = serializers.SerializerMethodField()

    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "created_at",
            "kind",
            "kind_label",
            "actor",
            "actor_username",
            "actor_name",
            "object_type",
            "object_id",
            "target_repr",
            "details",
            "detail_lines",
        ]
        read_only_fields = fields

    def get_actor_username(self, entry: AuditEntry) -> str | None:
        return entry.actor.username if entry.actor is not None else None

    def get_object_type(self, entry: AuditEntry) -> str | None:
        """``app_label.model`` of the object, or null when the entry has none."""
        if entry.content_type is None:
            return None
        return f"{entry.content_type.app_label}.{entry.content_type.model}"

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_details(self, entry: AuditEntry) -> Any:
        """What was recorded, as stored; its keys depend on ``kind`` (docs/architecture.md)."""
        return entry.details

    @extend_schema_field(DETAIL_LINES_SCHEMA)
    def get_detail_lines(self, entry: AuditEntry) -> list[dict[str, str]]:
        """The details as labelled lines in the request's language."""
        return [{"label": label, "value": value} for label, value in audit.detail_lines(entry)]


def _object_types() -> list[tuple[str, str]]:
    return selectors.audit_object_types()


class AuditFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=AuditKind.choices)
    actor = filters.CharFilter(
        method="filter_actor", label="Part of the actor's username or kept name"
    )
    object_type = filters.ChoiceFilter(
        choices=_object_types, method="filter_object_type", label="app_label.model"
    )
    object_id = filters.NumberFilter()
    target = filters.CharFilter(
        field_name="target_repr", lookup_expr="icontains", label="Part of the object's reference"
    )
    created_after = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = AuditEntry
        fields = ["kind", "actor", "object_type", "object_id", "target"]

    # The page's filters, shared: cbportal.core.selectors.audit_entries.
    def filter_actor(self, queryset: QuerySet[AuditEntry], name: str, value: str) -> Any:
        return selectors.audit_by_actor(queryset, value)

    def filter_object_type(self, queryset: QuerySet[AuditEntry], name: str, value: str) -> Any:
        return selectors.audit_by_object_type(queryset, value)


class StaffListOnly(BasePermission):
    """The list is refused (403) to anyone but staff; one entry is simply not found (404)
    for them, as the queryset is empty."""

    message = _("Only programme staff may read the audit log.")

    def has_permission(self, request: Any, view: Any) -> bool:
        return view.action != "list" or is_staff(request.user)


class AuditEntryViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit log, newest first: every workflow transition, vetting decision, change
    of role, approver flag, organisation or evaluators, account event, two-factor change
    and data export, with its actor, time and details. Staff only; nobody can change or
    delete an entry."""

    serializer_class = AuditEntrySerializer
    filterset_class = AuditFilter
    permission_classes = [IsAuthenticatedAndVerified, StaffListOnly]
    search_fields = ["actor_name", "target_repr"]
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]
    queryset = AuditEntry.objects.none()

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False) or not is_staff(self.request.user):
            return AuditEntry.objects.none()
        return selectors.audit_entries()
