"""Reads for the core: notifications, timelines, reference data."""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import QuerySet

from cbportal.core.models import GcmObjective, Language, Notification, ThematicArea, TransitionEvent


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
