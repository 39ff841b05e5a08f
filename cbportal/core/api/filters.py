"""Filters shared by every app's API lists (and their CSV/XLSX exports)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django_filters import rest_framework as filters


class VisibleChoiceFilter(filters.ModelChoiceFilter):
    """A filter naming an object by id among those the requesting user may see. Any other
    id is refused (400 with ``invalid_choice``) rather than answered with a silently empty
    list: a download "of organisation 7" that is empty because the user may not see 7
    would mislead."""

    def __init__(
        self, visible: Callable[[Any], QuerySet[Any]], *, message: Any, **kwargs: Any
    ) -> None:
        def queryset(request: Any) -> QuerySet[Any]:
            user = getattr(request, "user", None)
            if user is None or not user.is_authenticated:
                return visible(None)
            return visible(user)

        kwargs.setdefault("error_messages", {"invalid_choice": message})
        super().__init__(queryset=queryset, **kwargs)
