"""What a locked-out sign-in attempt receives (django-axes ``AXES_LOCKOUT_CALLABLE``).

The API answers in its own error shape with 429 and ``Retry-After``; pages show the
locked-out page with the same status, so a browser and a client both learn when to retry.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    message = _("Too many failed sign-in attempts. Try again later.")
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {
                "type": "client_error",
                "errors": [{"code": "throttled", "detail": message, "attr": None}],
            },
            status=429,
        )
    else:
        html = render_to_string(
            "accounts/locked_out.html", {"cooloff_minutes": seconds // 60}, request=request
        )
        response = HttpResponse(html, status=429)
    response["Retry-After"] = str(seconds)
    return response
