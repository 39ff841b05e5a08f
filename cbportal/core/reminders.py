"""Reminders: at most once per day for one object and reason, however often the job runs.

Each app's scheduled job (see ``CELERY_BEAT_SCHEDULE``) finds what is overdue or due and
calls ``remind`` for each object. ``remind`` writes a ``ReminderLog`` row — unique per
reason, object and day, so a second run the same day (or a concurrent one) writes nothing —
and, in the same transaction, the notifications through the outbox. How often a reminder
repeats while the condition holds is set per reason in ``settings.REMINDERS``:

- ``every_days: 0`` — once per occurrence (e.g. once per invitation expiry date);
- ``every_days: N`` — again after N days while the condition holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction

from cbportal.core.models import ReminderLog
from cbportal.core.notifications import notify_on_commit


def every_days(reason: str) -> int:
    try:
        return int(settings.REMINDERS[reason]["every_days"])
    except KeyError:
        raise LookupError(f"Reminder {reason!r} is not configured in settings.REMINDERS") from None


def remind(
    reason: str,
    obj: models.Model,
    recipients: Iterable[Any],
    *,
    today: date,
    occurrence: str = "",
    context: dict[str, Any] | None = None,
    event: str | None = None,
    url: str = "",
) -> bool:
    """Send reminder ``reason`` about ``obj`` to ``recipients`` unless it went out today or
    is not due again yet. The notification event is ``event`` (default: ``reason``).
    Returns whether it was sent."""
    interval = every_days(reason)
    content_type = ContentType.objects.get_for_model(obj)
    sent = ReminderLog.objects.filter(
        reason=reason, content_type=content_type, object_id=obj.pk, occurrence=occurrence
    )
    if interval <= 0:
        if sent.exists():
            return False
    elif sent.filter(day__gt=today - timedelta(days=interval)).exists():
        return False
    people = [u for u in recipients if u is not None and u.is_active]
    if not people:
        return False
    with transaction.atomic():
        try:
            with transaction.atomic():
                ReminderLog.objects.create(
                    reason=reason,
                    content_type=content_type,
                    object_id=obj.pk,
                    occurrence=occurrence,
                    day=today,
                    recipients=len({u.pk for u in people}),
                )
        except IntegrityError:  # another run sent it today
            return False
        notify_on_commit(
            event or reason,
            obj,
            people,
            context=context,
            key=f"{reason}:{content_type.pk}:{obj.pk}:{today.isoformat()}",
            url=url,
        )
    return True
