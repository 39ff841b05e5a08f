"""Notification events of monitoring and evaluation."""

from cbportal.core.events import register_event
from cbportal.core.models import NotificationCategory

register_event("evaluator_assigned", NotificationCategory.EVALUATIONS)  # → the evaluator
register_event("evaluation_submitted", NotificationCategory.EVALUATIONS)  # → officer, partner
register_event("measurement_due", NotificationCategory.REMINDERS)  # → the action's evaluators
register_event("follow_up_request_opened", NotificationCategory.REQUESTS)  # → the partner
