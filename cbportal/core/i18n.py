"""Helpers for reference data stored with English, French and Spanish names."""

from __future__ import annotations

from django.utils import translation


def localized(obj: object, field: str = "name") -> str:
    """The ``<field>_<lang>`` value for the active language, falling back to English."""
    lang = (translation.get_language() or "en").split("-")[0]
    if lang != "en":
        value = getattr(obj, f"{field}_{lang}", "")
        if value:
            return str(value)
    return str(getattr(obj, field))
