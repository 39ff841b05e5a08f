"""API tokens that respect the second factor.

The token endpoint asks for a one-time code whenever the account has an authenticator or
its role requires one, so a token issued after the account's authenticator was set up was
issued with a code. A token issued before — while the account had none, perhaps before the
rule applied to it, or made by hand — was not. Where two-factor is required, only the
first kind authenticates; the other is refused until the holder asks for a new token with
a code (which replaces it). This keeps ``TWO_FACTOR_REQUIRED_FOR_STAFF`` from being
side-stepped with a password-only token, as the browser session's check cannot see tokens.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from django_otp import devices_for_user
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from cbportal.accounts.services import two_factor_required


def token_issued_with_second_factor(user: Any, token: Token) -> bool:
    """Whether ``token`` was made after one of the user's confirmed authenticators."""
    return any(
        getattr(device, "created_at", None) is not None and device.created_at <= token.created
        for device in devices_for_user(user, confirmed=True)
    )


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        user, token = super().authenticate_credentials(key)
        if two_factor_required(user) and not token_issued_with_second_factor(user, token):
            raise exceptions.AuthenticationFailed(
                _(
                    "This token was issued without a one-time code, which your account "
                    "requires. Ask for a new token with a code from your authenticator."
                )
            )
        return user, token
