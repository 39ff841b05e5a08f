"""Per-user language and two-factor enforcement."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
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


EXEMPT_PREFIXES = ("/accounts/", "/static/", "/i18n/", "/healthz", "/api/", "/media/")


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
        ):
            return redirect(reverse("accounts:two-factor-verify"))
        return self.get_response(request)
