"""Base serializer behaviour shared by every CB Portal API serializer."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers

from cbportal.core.models import GcmObjective, Language, Notification, ThematicArea


class StrictFieldsMixin:
    """Reject fields the endpoint does not know, instead of silently ignoring them: a
    client with a typo (``tittle``) learns it at once and loses nothing."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            known = {name for name, field in self.fields.items() if not field.read_only}  # type: ignore[attr-defined]
            unknown = sorted(set(data) - known)
            if unknown:
                read_only = {name for name, field in self.fields.items() if field.read_only}  # type: ignore[attr-defined]
                raise serializers.ValidationError(
                    {
                        name: [
                            _("This field is read-only.")
                            if name in read_only
                            else _("Unknown field.")
                        ]
                        for name in unknown
                    },
                    code="unknown_field",
                )
        return super().to_internal_value(data)  # type: ignore[misc]


class StrictSerializer(StrictFieldsMixin, serializers.Serializer):
    pass


class StrictModelSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    pass


class TransitionInputSerializer(StrictSerializer):
    """The optional body of every transition endpoint."""

    comment = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    message = serializers.CharField(required=False, allow_blank=True, max_length=5000)

    @property
    def text(self) -> str:
        data = self.validated_data
        return str(data.get("comment") or data.get("reason") or data.get("message") or "")


class ThematicAreaSerializer(serializers.ModelSerializer):
    display_name = serializers.CharField(read_only=True)

    class Meta:
        model = ThematicArea
        fields = ["slug", "name", "name_fr", "name_es", "display_name", "position"]


class GcmObjectiveSerializer(serializers.ModelSerializer):
    display_title = serializers.CharField(read_only=True)

    class Meta:
        model = GcmObjective
        fields = ["number", "title", "title_fr", "title_es", "display_title"]


class LanguageSerializer(serializers.ModelSerializer):
    display_name = serializers.CharField(read_only=True)

    class Meta:
        model = Language
        fields = ["code", "name", "display_name"]


class NotificationSerializer(serializers.ModelSerializer):
    message = serializers.CharField(source="subject", read_only=True)
    is_read = serializers.BooleanField(read_only=True)

    class Meta:
        model = Notification
        fields = [
            "id",
            "event",
            "category",
            "message",
            "url",
            "created_at",
            "read_at",
            "is_read",
            "email_status",
        ]
        read_only_fields = fields
