"""Base serializer behaviour shared by every CB Portal API serializer."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers

from cbportal.core.models import (
    DeliveryMode,
    GcmObjective,
    Language,
    Notification,
    NotificationCategory,
    ThematicArea,
)


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


class DeliveryChoiceSerializer(serializers.Serializer):
    """One configurable category: the choice made (``mode``), what applies without it
    (``default``) and what applies now (``effective``)."""

    category = serializers.ChoiceField(
        choices=NotificationCategory.choices,
        read_only=True,
        help_text="Every category but `account` (account messages are always emailed at once).",
    )
    label = serializers.CharField(  # type: ignore[assignment]
        read_only=True, help_text="The category's name, translated."
    )
    mode = serializers.ChoiceField(
        choices=DeliveryMode.choices,
        allow_null=True,
        read_only=True,
        help_text="The choice made here; `null`: the default applies.",
    )
    default = serializers.ChoiceField(
        choices=DeliveryMode.choices,
        read_only=True,
        help_text="What applies without a choice: for a user, their organisation's default, "
        "else the programme's (`NOTIFICATION_DEFAULT_MODE`); for an organisation, the "
        "programme's.",
    )
    effective = serializers.ChoiceField(
        choices=DeliveryMode.choices, read_only=True, help_text="What applies now."
    )


class NotificationPreferenceSerializer(DeliveryChoiceSerializer):
    """A user's choice for one category."""

    default_from_organisation = serializers.BooleanField(
        read_only=True, help_text="Whether `default` is the organisation's default."
    )


class OrganisationNotificationDefaultSerializer(DeliveryChoiceSerializer):
    """An organisation's default for one category (its members' own choices win)."""


class DeliveryModesInputSerializer(StrictSerializer):
    """``{"modes": {"<category>": "<mode>" | null, ...}}``."""

    modes = serializers.DictField(
        child=serializers.ChoiceField(choices=DeliveryMode.choices, allow_null=True),
        help_text="Category → `immediate`, `digest`, `in_app`, or `null` for the default. "
        "`PUT` sets every category (one left out goes back to the default); `PATCH` changes "
        "only the categories named.",
    )
