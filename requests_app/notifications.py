"""Notification events of requests and needs assessments."""

from cbportal.core.events import register_event
from cbportal.core.models import NotificationCategory

C = NotificationCategory.REQUESTS

for name in (
    "request_submitted",  # → the partner's organisation (acknowledgement)
    "request_received",  # → programme staff (a new request in the triage queue)
    "request_info_requested",  # → the partner's organisation
    "request_responded",  # → the case officer
    "request_accepted",  # → the partner's organisation
    "request_declined",  # → the partner's organisation
    "request_withdrawn",  # → the case officer, if any
    "assessment_shared",  # → the partner's organisation
    "assessment_returned",  # → the assessment's owner
    "assessment_validated",  # → the assessment's owner
):
    register_event(name, C)

# Scheduled reminders (requests_app.services.requests_remind_overdue) → the case officer and
# their team lead, or all programme staff while the request has no case officer.
for name in ("request_first_response_overdue", "request_decision_overdue"):
    register_event(name, NotificationCategory.REMINDERS)
