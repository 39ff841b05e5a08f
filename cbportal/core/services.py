"""Write use-cases shared by every app: the transition log and notification state."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cbportal.core import audit
from cbportal.core.errors import ApplicationError
from cbportal.core.models import (
    CONFIGURABLE_CATEGORIES,
    AuditKind,
    DeliveryMode,
    Notification,
    NotificationPreference,
    OrganisationNotificationDefault,
    TransitionEvent,
)
from cbportal.core.workflow import REGISTRY, Workflow


def record_transition(
    obj: models.Model,
    transition: str,
    *,
    by: Any,
    from_state: str,
    to_state: str,
    comment: str = "",
    workflow: Workflow | None = None,
) -> TransitionEvent:
    """Append the immutable event row for a transition, and its audit entry (filed under
    the machine's ``audit_kind``; ``workflow`` defaults to the one registered for the
    model). Called by every transition service, inside its transaction, after the new
    state is saved."""
    event = TransitionEvent.objects.create(
        content_type=ContentType.objects.get_for_model(obj),
        object_id=obj.pk,
        transition=transition,
        from_state=from_state,
        to_state=to_state,
        actor=by,
        actor_name=by.display_name if by is not None else "system",
        comment=comment,
    )
    if workflow is None:
        workflow = REGISTRY.get(f"{obj._meta.app_label}.{type(obj).__name__}")
    kind = workflow.audit_kind if workflow is not None else AuditKind.TRANSITION
    audit.audit_transition(event, obj=obj, kind=kind)
    return event


def fire_transition(
    obj: Any,
    workflow: Workflow,
    name: str,
    *,
    by: Any,
    comment: str = "",
    extra_fields: Iterable[str] = (),
    checked: bool = False,
) -> tuple[Any, TransitionEvent]:
    """Check ``name`` against the table, move ``obj`` to the target state, save it with
    ``update_fields`` and record the event. The caller has locked ``obj``
    (``select_for_update``) inside its transaction and set any other fields it changes
    (named in ``extra_fields``); it then notifies with the returned event's id as key."""
    # ``checked``: the caller ran ``workflow.check`` before setting fields that a guard
    # reads (co-signing sets ``signed_at``, which "not yet signed" would then refuse).
    transition = workflow.get(name) if checked else workflow.check(obj, name, by)
    comment = (comment or "").strip()
    if transition.requires_comment and not comment:
        raise ApplicationError(_("Please give a reason or a message."), field="comment")
    from_state = workflow.state_of(obj)
    target = transition.target_for(obj)
    setattr(obj, workflow.state_field, target)
    fields = {workflow.state_field, *extra_fields}
    if any(f.name == "updated_at" for f in obj._meta.fields):
        fields.add("updated_at")
    obj.save(update_fields=sorted(fields))
    event = record_transition(
        obj,
        name,
        by=by,
        from_state=from_state,
        to_state=target,
        comment=comment,
        workflow=workflow,
    )
    return obj, event


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


def _validate_modes(modes: dict[str, str | None]) -> None:
    errors: dict[str, list[str]] = {}
    for category, mode in modes.items():
        if category not in CONFIGURABLE_CATEGORIES:
            errors.setdefault(category, []).append(_("This category cannot be configured."))
        elif mode is not None and mode not in DeliveryMode.values:
            errors.setdefault(category, []).append(
                _("Choose immediately, daily digest or in-app only.")
            )
    if errors:
        raise ApplicationError(_("Some choices are not valid."), errors=errors)


@transaction.atomic
def notification_preferences_set(*, user: Any, modes: dict[str, str | None]) -> None:
    """A user chooses, per category, how they are told. ``None`` means "the default" (the
    organisation's, else the programme's) and removes their own choice."""
    _validate_modes(modes)
    for category, mode in modes.items():
        if mode is None:
            NotificationPreference.objects.filter(user=user, category=category).delete()
        else:
            NotificationPreference.objects.update_or_create(
                user=user, category=category, defaults={"mode": mode}
            )


@transaction.atomic
def organisation_notification_defaults_set(
    *, organisation: Any, modes: dict[str, str | None], by: Any
) -> None:
    """Programme staff set an organisation's defaults; ``None`` falls back to the
    programme-wide default (``NOTIFICATION_DEFAULT_MODE``)."""
    if not getattr(by, "is_programme_staff", False):
        raise ApplicationError(_("Only programme staff set an organisation's defaults."))
    _validate_modes(modes)
    for category, mode in modes.items():
        if mode is None:
            OrganisationNotificationDefault.objects.filter(
                organisation=organisation, category=category
            ).delete()
        else:
            OrganisationNotificationDefault.objects.update_or_create(
                organisation=organisation,
                category=category,
                defaults={"mode": mode, "updated_by": by},
            )
