from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from cbportal.core import selectors


def portal(request: HttpRequest) -> dict[str, Any]:
    """Header data for every page: unread count (one query) and the languages."""
    user: Any = getattr(request, "user", None)
    unread = 0
    if user is not None and user.is_authenticated:
        unread = selectors.unread_count(user)
    return {"unread_notifications": unread, "portal_languages": settings.LANGUAGES}
