"""Notification events of monitoring and evaluation."""

from __future__ import annotations

from typing import Any

from django.utils.dateparse import parse_date

from cbportal.core.events import register_event
from cbportal.core.models import Notification, NotificationCategory


def _due_date(notification: Notification) -> dict[str, Any]:
    """The stored ISO due date as a date, so that the email formats it in the recipient's
    language."""
    raw = notification.context.get("due") or ""
    return {"due_date": parse_date(raw) if isinstance(raw, str) else None}


register_event("evaluator_assigned", NotificationCategory.EVALUATIONS)  # → the evaluator
register_event("evaluation_submitted", NotificationCategory.EVALUATIONS)  # → officer, partner
# Reminders (evaluations.services.*_remind_due, repeated as settings.REMINDERS says).
register_event("measurement_due", NotificationCategory.REMINDERS, context=_due_date)  # evaluators
register_event("evaluation_due", NotificationCategory.REMINDERS, context=_due_date)  # evaluators
register_event("follow_up_request_opened", NotificationCategory.REQUESTS)  # → the partner
