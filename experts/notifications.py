"""Notification events of the roster and deployments."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from cbportal.core.events import register_event
from cbportal.core.models import NotificationCategory


def invitation_links(notification: Any) -> dict[str, Any]:
    """Signed one-time links to answer the invitation, made at delivery time (never stored
    in the outbox)."""
    from cbportal.core.notifications import absolute_url
    from experts.models import Deployment, DeploymentStatus
    from experts.services import invitation_token

    deployment = Deployment.objects.filter(pk=notification.object_id).first()
    if deployment is None or deployment.status != DeploymentStatus.INVITED:
        return {"answer_url": ""}
    token = invitation_token(deployment)
    return {
        "answer_url": absolute_url(reverse("experts:invitation-link", args=[token])),
        "expires_at": deployment.expires_at,
    }


register_event("deployment_invited", NotificationCategory.DEPLOYMENTS, invitation_links)
for name in (
    "deployment_accepted",  # → the case officer
    "deployment_declined",  # → the case officer
    "deployment_expired",  # → the case officer
    "deployment_confirmed",  # → the expert and the partner's organisation
    "deployment_cancelled",  # → the expert (once invited) and, if it was confirmed, the partner
    "mission_report_submitted",  # → the case officer
):
    register_event(name, NotificationCategory.DEPLOYMENTS)
# Scheduled reminders (experts.services) → the expert. The expiring invitation carries the
# same one-time answer links as the invitation itself.
register_event("invitation_expiring", NotificationCategory.REMINDERS, invitation_links)
register_event("mission_report_due", NotificationCategory.REMINDERS)
register_event("expert_vetted", NotificationCategory.ACCOUNT)  # → the expert
register_event("expert_deletion_requested", NotificationCategory.ACCOUNT)  # → staff
