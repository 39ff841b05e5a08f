"""Shared pieces of the transition endpoints ``POST /api/v1/<collection>/<id>/<name>/``."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers

from cbportal.core.api.serializers import TransitionInputSerializer


def transition_schema(response: Any, description: str, operation_id: str | None = None) -> Any:
    """OpenAPI for one transition: optional body, the object back, and its refusals."""
    # 403/404/409 with the standard error shape are added by PortalAutoSchema.
    return extend_schema(
        request=TransitionInputSerializer, responses={200: response}, description=description
    )


def transition_text(data: Any) -> str:
    form = TransitionInputSerializer(data=data or {})
    form.is_valid(raise_exception=True)
    return form.text


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class AllowedTransitionsField(serializers.Field):
    """``allowed_transitions``: what the requesting user may fire now."""

    def __init__(self, workflow: Any, **kwargs: Any) -> None:
        self.workflow = workflow
        kwargs["help_text"] = "Transitions the current user may fire now."
        kwargs["read_only"] = True
        kwargs["source"] = "*"
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> list[str]:
        request = self.context.get("request")
        if request is None:
            return []
        # In lists, costly guards are left to the moment of firing (see Workflow.check).
        view = self.context.get("view")
        in_list = getattr(view, "action", None) == "list"
        return self.workflow.allowed(value, request.user, deep=not in_list)
