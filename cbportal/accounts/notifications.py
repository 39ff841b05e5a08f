"""Account notification events."""

from __future__ import annotations

from typing import Any

from cbportal.core.events import register_event
from cbportal.core.models import NotificationCategory
from cbportal.core.notifications import absolute_url


def _invitation_context(notification: Any) -> dict[str, Any]:
    # The signed link is made at delivery time so that no usable token sits in the outbox.
    from cbportal.accounts.services import invitation_accept_url

    invitation = notification.target
    return {"accept_url": absolute_url(invitation_accept_url(invitation)), "invitation": invitation}


register_event("account_invited", NotificationCategory.ACCOUNT, context=_invitation_context)
