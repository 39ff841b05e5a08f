"""Per-user language and two-factor enforcement."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils import translation

from cbportal.accounts.services import two_factor_required


class UserLanguageMiddleware:
    """A signed-in user's saved language applies unless the language cookie (set by the
    switcher on every page) says otherwise. Sits after ``LocaleMiddleware`` and
    ``AuthenticationMiddleware``; anonymous visitors keep the browser's choice."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
            user = request.user
            language = getattr(user, "language", None)
            if user.is_authenticated and language in dict(settings.LANGUAGES):
                translation.activate(language)
                request.LANGUAGE_CODE = language  # type: ignore[attr-defined]
        return self.get_response(request)


# What an unverified staff session may still reach: signing in and out, setting up the
# authenticator, changing language, static files and the health check. The API guards itself
# (cbportal.core.api.permissions.IsAuthenticatedAndVerified).
EXEMPT_URL_NAMES = {
    "accounts:login",
    "accounts:logout",
    "accounts:two-factor-verify",
    "accounts:two-factor-setup",
    "accounts:two-factor-qr",
    "set_language",
    "core:healthz",
    "core:livez",
}
EXEMPT_PREFIXES = ("/static/", "/api/")


class TwoFactorEnforcementMiddleware:
    """When two-factor is required for staff, a staff session that is not OTP-verified can
    only reach the account pages (sign-in, set-up, sign-out). API tokens are guarded when
    they are issued."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            two_factor_required(user)
            and not user.is_verified()  # type: ignore[union-attr]
            and not request.path.startswith(EXEMPT_PREFIXES)
            and _url_name(request) not in EXEMPT_URL_NAMES
        ):
            return redirect(reverse("accounts:two-factor-verify"))
        return self.get_response(request)


def _url_name(request: HttpRequest) -> str | None:
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    return match.view_name
