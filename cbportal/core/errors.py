"""The application's error types. Pages show them as messages; the API maps them to codes.

``ApplicationError`` (400) — a use-case refused bad input;
``TransitionForbidden`` (403) — the user may see the object but not fire this transition;
``TransitionNotAllowed`` (409) — the transition is not possible from the object's state;
``NotFound`` (404) — outside the user's scope.
"""

from __future__ import annotations


class ApplicationError(Exception):
    status_code = 400
    code = "invalid"

    def __init__(
        self,
        message: str = "",
        *,
        field: str | None = None,
        errors: dict[str, list[str]] | None = None,
    ) -> None:
        """``errors`` carries several field errors at once (``{"title": ["..."]}``);
        ``message`` then summarises them."""
        super().__init__(message)
        self.message = message
        self.field = field
        self.errors = errors or ({field: [message]} if field else {})

    @property
    def full_message(self) -> str:
        """The summary and every field error, for a page message."""
        details = [e for errs in self.errors.values() for e in errs if e != self.message]
        return " ".join(p for p in (self.message, *details) if p)


class NotFound(ApplicationError):
    """The object does not exist or is outside what the user may see (never say which)."""

    status_code = 404
    code = "not_found"


class TransitionForbidden(ApplicationError):
    status_code = 403
    code = "transition_forbidden"


class TransitionNotAllowed(ApplicationError):
    status_code = 409
    code = "transition_not_allowed"


class UnknownTransition(ApplicationError):
    status_code = 404
    code = "unknown_transition"
