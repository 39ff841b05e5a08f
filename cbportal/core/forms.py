"""Showing an application error on a Django form, the same way on every page."""

from __future__ import annotations

from typing import Any

from cbportal.core.errors import ApplicationError


def apply_errors(form: Any, exc: ApplicationError) -> None:
    """Put each field error on its field (or on the form when the field is not shown)."""
    if exc.errors:
        for field, errors in exc.errors.items():
            target = field if field in form.fields else None
            for error in errors:
                form.add_error(target, error)
    else:
        form.add_error(None, exc.message)
