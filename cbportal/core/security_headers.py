"""``Permissions-Policy`` on every response.

Django's ``SecurityMiddleware`` sends nosniff, ``Referrer-Policy`` and
``Cross-Origin-Opener-Policy``; django-csp sends the Content Security Policy; this adds the
one header neither knows. It is a fixed string built once from ``PERMISSIONS_POLICY`` (a
feature → allow-list mapping; an empty list switches the feature off everywhere), which a
dozen lines do as well as a dependency would. It sits right below ``SecurityMiddleware`` so
that the static files WhiteNoise answers carry it too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from django.conf import settings
from django.http import HttpRequest, HttpResponse


def permissions_policy(features: Mapping[str, Sequence[str]]) -> str:
    """``{"camera": [], "fullscreen": ["self"]}`` → ``camera=(), fullscreen=(self)``."""
    return ", ".join(
        f"{feature}=({' '.join(allow)})" for feature, allow in sorted(features.items())
    )


class PermissionsPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.header = permissions_policy(settings.PERMISSIONS_POLICY)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.header:
            response.headers.setdefault("Permissions-Policy", self.header)
        return response
