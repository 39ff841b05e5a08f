from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission, IsAuthenticated

from cbportal.accounts.permissions import is_staff
from cbportal.accounts.services import two_factor_required


class IsAuthenticatedAndVerified(IsAuthenticated):
    """Authenticated, and — where two-factor is required for the user's role — signed in
    with the second factor. Only browser sessions are checked here: a token is issued only
    after a one-time code (the token view), and ``cbportal.accounts.api.authentication``
    refuses a token older than the user's authenticator where two-factor is required."""

    message = _("Two-factor verification is required for your account.")

    def has_permission(self, request: Any, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        if isinstance(
            request.successful_authenticator, SessionAuthentication
        ) and two_factor_required(request.user):
            return bool(request.user.is_verified())
        return True


class IsProgrammeStaff(BasePermission):
    """Programme staff (approvers included) and administrators."""

    message = _("Only programme staff may do this.")

    def has_permission(self, request: Any, view: Any) -> bool:
        return is_staff(request.user)
