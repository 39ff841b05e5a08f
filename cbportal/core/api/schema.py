"""OpenAPI generation: drf-standardized-errors' schema plus our 409 (and the 403 that a
transition can give), documented only on the operations that can answer them."""

from __future__ import annotations

from django.db import models
from drf_standardized_errors.openapi import AutoSchema
from drf_standardized_errors.openapi_serializers import ClientErrorEnum
from rest_framework import serializers


class ErrorCode409Enum(models.TextChoices):
    TRANSITION_NOT_ALLOWED = "transition_not_allowed"


class Error409Serializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=ErrorCode409Enum.choices)
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ErrorResponse409Serializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    errors = Error409Serializer(many=True)  # type: ignore[assignment]


class PortalAutoSchema(AutoSchema):
    """A view lists in ``conflict_actions`` the actions that change state (transitions,
    edits of objects that may have moved on); only those document 409 and 403."""

    def _changes_state(self) -> bool:
        action = getattr(self.view, "action", None)
        return action in getattr(self.view, "conflict_actions", ())

    def _should_add_error_response(self, responses: dict, status_code: str) -> bool:
        if status_code == "409":
            return status_code not in responses and self._changes_state()
        if status_code == "403" and self._changes_state() and status_code not in responses:
            return True
        return bool(super()._should_add_error_response(responses, status_code))
