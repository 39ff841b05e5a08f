"""Account notification events."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from cbportal.core.events import register_event
from cbportal.core.models import NotificationCategory
from cbportal.core.notifications import absolute_url


def _invitation_context(notification: Any) -> dict[str, Any]:
    # The signed link is made at delivery time so that no usable token sits in the outbox.
    from cbportal.accounts.services import invitation_accept_url

    invitation = notification.target
    return {"accept_url": absolute_url(invitation_accept_url(invitation)), "invitation": invitation}


def password_reset_url(user: Any) -> str:
    """Django's one-use reset link for ``user`` (``PasswordResetConfirmView`` checks it with
    the same token generator): valid for ``PASSWORD_RESET_TIMEOUT`` from now, spent once the
    password changes."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return reverse("accounts:password-reset-confirm", args=[uid, token])


def _password_reset_context(notification: Any) -> dict[str, Any]:
    # Made when the email is sent, never stored: the outbox holds no usable token, and the
    # link's validity runs from the moment the email leaves.
    return {"reset_url": absolute_url(password_reset_url(notification.recipient))}


register_event("account_invited", NotificationCategory.ACCOUNT, context=_invitation_context)
register_event("password_reset", NotificationCategory.ACCOUNT, context=_password_reset_context)
