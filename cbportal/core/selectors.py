"""Reads for the core: notifications, timelines, reference data."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import QuerySet

from cbportal.core.models import (
    CONFIGURABLE_CATEGORIES,
    DeliveryMode,
    GcmObjective,
    Language,
    Notification,
    NotificationCategory,
    NotificationPreference,
    OrganisationNotificationDefault,
    ThematicArea,
    TransitionEvent,
)


def notifications_for(user: Any) -> QuerySet[Notification]:
    """A user's own notifications, newest first (nobody reads anyone else's)."""
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-id")


def unread_count(user: Any) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def timeline_for(obj: models.Model) -> QuerySet[TransitionEvent]:
    """The transition events of one object, oldest first, with their actors."""
    return (
        TransitionEvent.objects.filter(
            content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk
        )
        .select_related("actor", "content_type")
        .order_by("created_at", "id")
    )


def thematic_areas() -> QuerySet[ThematicArea]:
    return ThematicArea.objects.filter(is_active=True)


def gcm_objectives() -> QuerySet[GcmObjective]:
    return GcmObjective.objects.all()


def languages() -> QuerySet[Language]:
    return Language.objects.all()


def _delivery_rows(chosen: dict[str, str], defaults: dict[str, str]) -> list[dict[str, Any]]:
    """One row per configurable category: the choice made here (or ``None``), the default
    that applies without it, where that default comes from, and what applies now."""
    rows = []
    for category in CONFIGURABLE_CATEGORIES:
        default = defaults.get(category) or settings.NOTIFICATION_DEFAULT_MODE
        rows.append(
            {
                "category": category,
                "label": NotificationCategory(category).label,
                "mode": chosen.get(category),
                "default": default,
                "default_label": DeliveryMode(default).label,
                "default_from_organisation": category in defaults,
                "effective": chosen.get(category) or default,
            }
        )
    return rows


def _organisation_modes(organisation_id: int | None) -> dict[str, str]:
    if organisation_id is None:
        return {}
    return dict(
        OrganisationNotificationDefault.objects.filter(organisation_id=organisation_id).values_list(
            "category", "mode"
        )
    )


def notification_preferences(user: Any) -> list[dict[str, Any]]:
    """A user's choices per category over their organisation's defaults. Two queries."""
    own = dict(NotificationPreference.objects.filter(user=user).values_list("category", "mode"))
    return _delivery_rows(own, _organisation_modes(user.organisation_id))


def organisation_notification_defaults(organisation: Any) -> list[dict[str, Any]]:
    """An organisation's defaults per category over the programme's. One query."""
    return _delivery_rows(_organisation_modes(organisation.pk), {})
