"""Notification events of actions and amendments."""

from cbportal.core.events import register_event
from cbportal.core.models import NotificationCategory

for name in (
    "action_proposed",  # → approvers (not the proposer)
    "action_returned",  # → the drafter
    "action_approved",  # → the partner's organisation (to co-sign) and the case officer
    "action_signed",  # → the case officer
    "action_started",  # → the partner's organisation
    "action_suspended",  # → the partner's organisation and everyone deployed
    "action_resumed",  # → the partner's organisation and everyone deployed
    "action_cancelled",  # → the partner's organisation and everyone deployed
    "action_closed",  # → the partner's organisation
    "amendment_proposed",  # → approvers (not the proposer)
    "amendment_approved",  # → the partner's organisation (to co-sign) and the case officer
    "amendment_rejected",  # → the drafter
    "amendment_applied",  # → the case officer and the partner's organisation
):
    register_event(name, NotificationCategory.ACTIONS)
