"""OpenAPI generation: drf-standardized-errors' schema, made true to what the API answers.

On top of the library's error responses:

- 409 (and the 403 that a transition can give) on the operations that change state;
- the codes of our own error types: ``transition_forbidden`` (403), ``unknown_transition``
  (404), and ``invalid`` on any field or on none (``ApplicationError`` from a service);
- a 400 whose items may be ``unknown_field`` on any name (``StrictFieldsMixin``), whose
  list items are named by their index (``objectives.0.text``, never ``objectives.INDEX``),
  on operations whose body is declared per media type, and on lists with ``search=``
  (which refuses NUL characters).

``.ci/fuzz-api`` holds the live server to this schema.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.db import models
from drf_spectacular.plumbing import force_instance, is_serializer
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import PolymorphicProxySerializer
from drf_standardized_errors.openapi import AutoSchema
from drf_standardized_errors.openapi_serializers import (
    ClientErrorEnum,
    ValidationErrorEnum,
)
from drf_standardized_errors.openapi_utils import (
    InputDataField,
    get_error_serializer,
    get_flat_serializer_fields,
    get_serializer_fields_with_error_codes,
)
from drf_standardized_errors.settings import package_settings
from inflection import camelize
from rest_framework import serializers
from rest_framework.filters import SearchFilter
from rest_framework.settings import api_settings

from cbportal.core.errors import ApplicationError, TransitionForbidden, UnknownTransition
from cbportal.core.uploads import FileKind


class ErrorCode403Enum(models.TextChoices):
    PERMISSION_DENIED = "permission_denied"
    TRANSITION_FORBIDDEN = TransitionForbidden.code


class ErrorCode404Enum(models.TextChoices):
    NOT_FOUND = "not_found"
    UNKNOWN_TRANSITION = UnknownTransition.code


class ErrorCode409Enum(models.TextChoices):
    TRANSITION_NOT_ALLOWED = "transition_not_allowed"


def _error_response(status_code: int, choices: Any) -> type[serializers.Serializer]:
    error = type(
        f"Error{status_code}Serializer",
        (serializers.Serializer,),
        {
            "code": serializers.ChoiceField(choices=choices),
            "detail": serializers.CharField(),
            "attr": serializers.CharField(allow_null=True),
        },
    )
    return type(
        f"ErrorResponse{status_code}Serializer",
        (serializers.Serializer,),
        {
            "type": serializers.ChoiceField(choices=ClientErrorEnum.choices),
            "errors": error(many=True),
        },
    )


ErrorResponse403Serializer = _error_response(403, ErrorCode403Enum.choices)
ErrorResponse404Serializer = _error_response(404, ErrorCode404Enum.choices)
ErrorResponse409Serializer = _error_response(409, ErrorCode409Enum.choices)


# The items of a 400 that every operation with a body may answer. Their names end with the
# suffix drf-standardized-errors keeps enums inline for (its enum hook skips them).
class UnknownFieldErrorSerializer(serializers.Serializer):
    """A field the operation does not take (or may not write), under the name it was sent."""

    attr = serializers.CharField()
    code = serializers.ChoiceField(choices=[("unknown_field", "unknown_field")])
    detail = serializers.CharField()

    class Meta:
        ref_name = "UnknownField" + package_settings.ERROR_COMPONENT_NAME_SUFFIX


class ApplicationErrorSerializer(serializers.Serializer):
    """A service refused the input as a whole (``ApplicationError`` naming no field)."""

    attr = serializers.ChoiceField(choices=[(None, None)], allow_null=True)
    code = serializers.ChoiceField(choices=[(ApplicationError.code, ApplicationError.code)])
    detail = serializers.CharField()

    class Meta:
        ref_name = "Application" + package_settings.ERROR_COMPONENT_NAME_SUFFIX


class SearchErrorSerializer(serializers.Serializer):
    """``search=`` with a NUL character (DRF's SearchFilter refuses it)."""

    attr = serializers.ChoiceField(choices=[(None, None)], allow_null=True)
    code = serializers.ChoiceField(
        choices=[("null_characters_not_allowed", "null_characters_not_allowed")]
    )
    detail = serializers.CharField()

    class Meta:
        ref_name = "Search" + package_settings.ERROR_COMPONENT_NAME_SUFFIX


def _indexed_error_serializer(
    operation_id: str, attr: str, codes: set[str]
) -> type[serializers.Serializer]:
    """An error on an item of a list or dict: ``objectives.INDEX.text`` in the library's
    schema is ``objectives.0.text`` in an answer, so the name is a pattern."""
    separator = re.escape(package_settings.NESTED_FIELD_SEPARATOR)
    parts = []
    for part in attr.split(package_settings.NESTED_FIELD_SEPARATOR):
        if part == package_settings.LIST_INDEX_IN_API_SCHEMA:
            parts.append(r"\d+")
        elif part == package_settings.DICT_KEY_IN_API_SCHEMA:
            parts.append(r"[^.]+")
        else:
            parts.append(re.escape(part))
    pattern = "^" + separator.join(parts) + "$"
    name = camelize(operation_id) + camelize(attr.replace(".", "_"))
    return type(
        "IndexedErrorSerializer",
        (serializers.Serializer,),
        {
            "attr": serializers.RegexField(pattern),
            "code": serializers.ChoiceField(choices=sorted(zip(codes, codes, strict=True))),
            "detail": serializers.CharField(),
            "Meta": type(
                "Meta", (), {"ref_name": name + package_settings.ERROR_COMPONENT_NAME_SUFFIX}
            ),
        },
    )


def _is_indexed(attr: str) -> bool:
    placeholders = {
        package_settings.LIST_INDEX_IN_API_SCHEMA,
        package_settings.DICT_KEY_IN_API_SCHEMA,
    }
    return bool(placeholders & set(attr.split(package_settings.NESTED_FIELD_SEPARATOR)))


def file_download(kinds: Iterable[FileKind]) -> dict[tuple[int, str], Any]:
    """The 200 of a stored file: served in the type it was accepted as, one of ``kinds``."""
    return {(200, kind.content_type): OpenApiTypes.BINARY for kind in kinds}


def _unattached_error_serializer(operation_id: str, codes: set[str]) -> Any:
    codes = set(codes) - {ApplicationError.code}
    if not codes:
        return ApplicationErrorSerializer
    codes.add(ApplicationError.code)
    name = camelize(operation_id) + "Unattached" + package_settings.ERROR_COMPONENT_NAME_SUFFIX
    return type(
        "UnattachedErrorSerializer",
        (serializers.Serializer,),
        {
            "attr": serializers.ChoiceField(choices=[(None, None)], allow_null=True),
            "code": serializers.ChoiceField(choices=sorted(zip(codes, codes, strict=True))),
            "detail": serializers.CharField(),
            "Meta": type("Meta", (), {"ref_name": name}),
        },
    )


def _is_list_item_non_field(attr: str) -> bool:
    parts = attr.split(package_settings.NESTED_FIELD_SEPARATOR)
    return (
        len(parts) >= 2
        and parts[-1] == api_settings.NON_FIELD_ERRORS_KEY
        and parts[-2] == package_settings.LIST_INDEX_IN_API_SCHEMA
    )


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

    # --- 400 -----------------------------------------------------------------------------

    def _is_detail_transition(self) -> bool:
        return "{" in self.path

    def _object_fields(self) -> list[str]:
        get_class = getattr(self.view, "get_serializer_class", None)
        try:
            serializer_class = get_class() if get_class else None
        except AssertionError:  # a generic view without a serializer
            serializer_class = None
        if serializer_class is None:
            return []
        fields = serializer_class().fields
        return [name for name, field in fields.items() if not field.read_only]

    def _body_serializers(self) -> list[Any]:
        """The request serializers, also when the body is declared per media type
        (``request={"multipart/form-data": X}``), which the library does not look into."""
        if self.method not in ("PUT", "PATCH", "POST"):
            return []
        request = self.get_request_serializer()
        candidates = request.values() if isinstance(request, dict) else [request]
        return [force_instance(c) for c in candidates if c is not None and is_serializer(c)]

    def _has_search(self) -> bool:
        if self.method != "GET" or not getattr(self.view, "search_fields", None):
            return False
        if not self._is_list_view():
            return False
        return any(
            isinstance(backend, type) and issubclass(backend, SearchFilter)
            for backend in self.get_filter_backends()
        )

    def _should_add_validation_error_response(self) -> bool:
        return (
            bool(super()._should_add_validation_error_response())
            or bool(self._body_serializers())
            or self._has_search()
        )

    def _determine_fields_with_error_codes(self) -> list[InputDataField]:
        bodies = self._body_serializers()
        if bodies:
            return list(get_serializer_fields_with_error_codes(get_flat_serializer_fields(bodies)))
        return list(super()._determine_fields_with_error_codes())

    def _get_serializer_for_validation_error_response(self) -> Any:
        operation_id = self.get_operation_id()
        codes_by_field = self._get_validation_error_codes_by_field(
            self._determine_fields_with_error_codes()
        )
        # Errors on no field: ApplicationError's, plus those a view declares with
        # @extend_validation_errors(codes) and no field_name.
        unattached = codes_by_field.pop(None, set())  # type: ignore[call-overload]
        if self.method == "GET":
            # Query parameters declared by hand (``file=`` of the exports) are checked by
            # the view itself: ApplicationError(field=<parameter>).
            for parameter in self.get_override_parameters():
                name = getattr(parameter, "name", None)
                if name and getattr(parameter, "location", None) == "query":
                    codes_by_field.setdefault(name, set())
        if self.method == "POST" and self._changes_state() and self._is_detail_transition():
            # A transition checks the object it moves (request_submit: a draft must be
            # complete) and names the object's fields, not the body's.
            for name in self._object_fields():
                codes_by_field.setdefault(name, set())
        for attr in [a for a in codes_by_field if _is_list_item_non_field(a)]:
            # A null list item is refused on the item itself (``objectives.0``, code null);
            # other item errors come under ``objectives.0.non_field_errors``.
            item = attr.rsplit(package_settings.NESTED_FIELD_SEPARATOR, 1)[0]
            codes_by_field.setdefault(item, set()).add("null")
        variants: list[Any] = [_unattached_error_serializer(operation_id, unattached)]
        for attr, codes in codes_by_field.items():
            # A service may refuse any field's value (ApplicationError(field=...)).
            codes = {*codes, ApplicationError.code}
            if _is_indexed(attr):
                variants.append(_indexed_error_serializer(operation_id, attr, codes))
            else:
                variants.append(get_error_serializer(operation_id, attr, codes))
        if self._body_serializers():
            variants.append(UnknownFieldErrorSerializer)
        if self._has_search():
            variants.append(SearchErrorSerializer)

        # No discriminator on ``attr``: indexed and unknown names are patterns, not values.
        errors = PolymorphicProxySerializer(
            component_name=f"{camelize(operation_id)}Error",
            serializers=variants,
            resource_type_field_name=None,
            many=True,
        )
        return type(
            "ValidationErrorSerializer",
            (serializers.Serializer,),
            {
                "type": serializers.ChoiceField(choices=ValidationErrorEnum.choices),
                "errors": errors,
                "Meta": type("Meta", (), {"ref_name": f"{camelize(operation_id)}ValidationError"}),
            },
        )
