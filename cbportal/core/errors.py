"""The application's error types. Pages show them as messages; the API maps them to codes.

``ApplicationError`` (400) — a use-case refused bad input;
``TransitionForbidden`` (403) — the user may see the object but not fire this transition;
``TransitionNotAllowed`` (409) — the transition is not possible from the object's state.
"""

from __future__ import annotations


class ApplicationError(Exception):
    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class TransitionForbidden(ApplicationError):
    status_code = 403
    code = "transition_forbidden"


class TransitionNotAllowed(ApplicationError):
    status_code = 409
    code = "transition_not_allowed"


class UnknownTransition(ApplicationError):
    status_code = 404
    code = "unknown_transition"
