"""One error shape for the whole API (drf-standardized-errors), extended with our errors.

Every error body is ``{"type": ..., "errors": [{"code", "detail", "attr"}]}``;
``ApplicationError`` becomes 400 (on its field when it names one), ``TransitionForbidden``
403, ``TransitionNotAllowed`` 409 and ``UnknownTransition`` 404.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_standardized_errors.handler import ExceptionHandler
from rest_framework import exceptions, status

from cbportal.core.errors import (
    ApplicationError,
    NotFound,
    TransitionForbidden,
    TransitionNotAllowed,
    UnknownTransition,
)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("This change is not possible in the object's current state.")
    default_code = "transition_not_allowed"


class PortalExceptionHandler(ExceptionHandler):
    def convert_known_exceptions(self, exc: Exception) -> Exception:
        if isinstance(exc, TransitionNotAllowed):
            return Conflict(detail=exc.message, code=exc.code)
        if isinstance(exc, TransitionForbidden):
            return exceptions.PermissionDenied(detail=exc.message, code=exc.code)
        if isinstance(exc, UnknownTransition):
            return exceptions.NotFound(detail=exc.message, code=exc.code)
        if isinstance(exc, NotFound):
            return exceptions.NotFound(detail=exc.message or None, code=exc.code)
        if isinstance(exc, ApplicationError):
            if exc.errors:
                return exceptions.ValidationError(exc.errors, code=exc.code)
            return exceptions.ValidationError([exc.message], code=exc.code)
        return super().convert_known_exceptions(exc)
