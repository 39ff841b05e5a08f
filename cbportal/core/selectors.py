"""Reads for the core: notifications, timelines, reference data, the audit log."""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q, QuerySet
from django.utils import timezone

from cbportal.core.models import (
    CONFIGURABLE_CATEGORIES,
    AuditEntry,
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


# --- the audit log ----------------------------------------------------------------------


def audit_object_types() -> list[tuple[str, str]]:
    """The kinds of object audit entries are about (``app_label.model``, name): every
    model with a workflow, and user accounts."""
    from django.apps import apps

    from cbportal.core.workflow import REGISTRY

    labels = [*REGISTRY, settings.AUTH_USER_MODEL]
    choices = []
    for label in labels:
        model = apps.get_model(label)
        name = str(model._meta.verbose_name)
        choices.append((model._meta.label_lower, name[:1].upper() + name[1:]))
    return sorted(set(choices), key=lambda choice: choice[1])


def audit_by_actor(qs: QuerySet[AuditEntry], actor: str) -> QuerySet[AuditEntry]:
    """Entries whose actor's username, or the name kept on the entry, contains ``actor``."""
    return qs.filter(Q(actor__username__icontains=actor) | Q(actor_name__icontains=actor))


def audit_by_object_type(qs: QuerySet[AuditEntry], object_type: str) -> QuerySet[AuditEntry]:
    """Entries about objects of ``object_type`` (``app_label.model``)."""
    app_label, _dot, model = object_type.partition(".")
    return qs.filter(content_type__app_label=app_label, content_type__model=model)


def audit_entries(
    *,
    kind: str = "",
    actor: str = "",
    object_type: str = "",
    target: str = "",
    since: datetime.date | None = None,
    until: datetime.date | None = None,
) -> QuerySet[AuditEntry]:
    """The audit log, newest first, narrowed by whichever filters are given: ``actor`` is
    part of a username or of the name kept on the entry, ``object_type`` an
    ``app_label.model``, ``target`` part of the object's reference (or its id), ``since``
    and ``until`` days (both included) in the current time zone. For staff only: callers
    check."""
    qs = AuditEntry.objects.select_related("actor", "content_type").order_by("-created_at", "-id")
    if kind:
        qs = qs.filter(kind=kind)
    if actor:
        qs = audit_by_actor(qs, actor)
    if object_type:
        qs = audit_by_object_type(qs, object_type)
    if target:
        text = target.strip()
        match = Q(target_repr__icontains=text)
        if text.isdigit():
            match |= Q(object_id=int(text))
        qs = qs.filter(match)
    if since is not None:
        qs = qs.filter(created_at__gte=_start_of(since))
    if until is not None:
        qs = qs.filter(created_at__lt=_start_of(until + datetime.timedelta(days=1)))
    return qs


def _start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
