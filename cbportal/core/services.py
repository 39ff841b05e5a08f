"""Write use-cases shared by every app: the transition log and notification state."""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone

from cbportal.core.models import Notification, TransitionEvent


def record_transition(
    obj: models.Model,
    transition: str,
    *,
    by: Any,
    from_state: str,
    to_state: str,
    comment: str = "",
) -> TransitionEvent:
    """Append the immutable event row for a transition. Called by every transition service,
    inside its transaction, after the new state is saved."""
    return TransitionEvent.objects.create(
        content_type=ContentType.objects.get_for_model(obj),
        object_id=obj.pk,
        transition=transition,
        from_state=from_state,
        to_state=to_state,
        actor=by,
        actor_name=by.display_name if by is not None else "system",
        comment=comment,
    )


@transaction.atomic
def notification_mark_read(*, notification_id: int, by: Any) -> Notification:
    """The recipient marks one notification read (idempotent). Notifies nobody."""
    notification = Notification.objects.select_for_update().get(pk=notification_id, recipient=by)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notification_mark_all_read(*, by: Any) -> int:
    """The recipient marks every unread notification read; returns how many changed."""
    return Notification.objects.filter(recipient=by, read_at__isnull=True).update(
        read_at=timezone.now()
    )
