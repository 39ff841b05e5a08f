"""Forms shared by every app: showing an application error the same way on every page,
the notification delivery choices, the staff email delivery page and the audit log."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from cbportal.accounts.models import Organisation
from cbportal.core.errors import ApplicationError
from cbportal.core.models import (
    CONFIGURABLE_CATEGORIES,
    AuditKind,
    DeliveryMode,
    DeliveryStatus,
    NotificationCategory,
)


def apply_errors(form: Any, exc: ApplicationError) -> None:
    """Put each field error on its field (or on the form when the field is not shown)."""
    if exc.errors:
        for field, errors in exc.errors.items():
            target = field if field in form.fields else None
            for error in errors:
                form.add_error(target, error)
    else:
        form.add_error(None, exc.message)


class DeliveryModesForm(forms.Form):
    """One radio group per configurable category: the default, or one of the modes.

    ``defaults`` maps each category to the label of what applies when "default" is kept
    (for users: their organisation's default or the programme's; for organisations: the
    programme's)."""

    DEFAULT = "default"

    def __init__(
        self,
        *args: Any,
        defaults: Mapping[str, Any],
        initial_modes: Mapping[str, str | None],
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault(
            "initial", {c: initial_modes.get(c) or self.DEFAULT for c in CONFIGURABLE_CATEGORIES}
        )
        super().__init__(*args, **kwargs)
        for category in CONFIGURABLE_CATEGORIES:
            self.fields[category] = forms.ChoiceField(
                label=NotificationCategory(category).label,
                choices=[
                    (self.DEFAULT, _("Default (%(mode)s)") % {"mode": defaults[category]}),
                    *DeliveryMode.choices,
                ],
                widget=forms.RadioSelect,
            )

    def modes(self) -> dict[str, str | None]:
        return {
            c: (None if self.cleaned_data[c] == self.DEFAULT else self.cleaned_data[c])
            for c in CONFIGURABLE_CATEGORIES
        }


class OrganisationChoiceForm(forms.Form):
    organisation = forms.ModelChoiceField(
        label=_("Organisation"),
        queryset=Organisation.objects.filter(is_active=True).order_by("name"),
        empty_label=_("Choose an organisation"),
    )


class OutboxFilterForm(forms.Form):
    """The filters of the staff email delivery page. ``kind`` switches between
    notifications and daily digests (digests have no category or event)."""

    NOTIFICATIONS = "notifications"
    DIGESTS = "digests"

    kind = forms.ChoiceField(
        label=_("Show"),
        required=False,
        choices=[(NOTIFICATIONS, _("Notifications")), (DIGESTS, _("Daily digests"))],
        widget=forms.HiddenInput,
    )
    status = forms.ChoiceField(
        label=_("Email status"),
        required=False,
        choices=[("", _("Any")), *DeliveryStatus.choices],
    )
    category = forms.ChoiceField(
        label=_("Category"),
        required=False,
        choices=[("", _("Any")), *NotificationCategory.choices],
    )
    event = forms.ChoiceField(label=_("Event"), required=False)
    recipient = forms.CharField(
        label=_("Recipient"),
        required=False,
        max_length=150,
        help_text=_("Part of a username or an email address."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from cbportal.core.events import EVENTS

        self.fields["event"].choices = [("", _("Any")), *((e, e) for e in sorted(EVENTS))]  # type: ignore[attr-defined]
        self.fields["kind"].initial = self.shows
        if self.shows == self.DIGESTS:
            del self.fields["category"]
            del self.fields["event"]

    @property
    def shows(self) -> str:
        """The list shown, also when the form is not valid (it decides which fields exist)."""
        value = self.data.get("kind") if self.is_bound else None
        return self.DIGESTS if value == self.DIGESTS else self.NOTIFICATIONS

    def filter(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        """``queryset`` narrowed by the cleaned filters (call after ``is_valid``)."""
        data = getattr(self, "cleaned_data", {})
        if data.get("status"):
            queryset = queryset.filter(email_status=data["status"])
        if data.get("category"):
            queryset = queryset.filter(category=data["category"])
        if data.get("event"):
            queryset = queryset.filter(event=data["event"])
        if data.get("recipient"):
            queryset = queryset.filter(
                Q(recipient__username__icontains=data["recipient"])
                | Q(recipient__email__icontains=data["recipient"])
            )
        return queryset


class _DayInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class AuditFilterForm(forms.Form):
    """The filters of the staff audit log page (``selectors.audit_entries``)."""

    kind = forms.ChoiceField(
        label=_("What"), required=False, choices=[("", _("Any")), *AuditKind.choices]
    )
    actor = forms.CharField(
        label=_("Who"),
        required=False,
        max_length=150,
        help_text=_("Part of a username or a name."),
    )
    object_type = forms.ChoiceField(label=_("Object type"), required=False)
    target = forms.CharField(
        label=_("Object"),
        required=False,
        max_length=100,
        help_text=_("A reference such as REQ-2026-0001, part of one, or a number."),
    )
    since = forms.DateField(label=_("From"), required=False, widget=_DayInput())
    until = forms.DateField(label=_("To"), required=False, widget=_DayInput())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from cbportal.core.selectors import audit_object_types

        self.fields["object_type"].choices = [("", _("Any")), *audit_object_types()]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", _("The end date comes before the start date."))
        return data

    def filters(self) -> dict[str, Any]:
        """The cleaned filters as ``selectors.audit_entries`` takes them (call after
        ``is_valid``; an unbound form filters nothing)."""
        data = getattr(self, "cleaned_data", {})
        return {name: data[name] for name in self.fields if data.get(name)}


class IdListField(forms.Field):
    """Several row ids posted under one name (``ids=3&ids=7``)."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "invalid": _("Enter whole numbers."),
        "too_many": _("Choose at most %(max)d rows at a time."),
    }

    def __init__(self, *, max_ids: int, **kwargs: Any) -> None:
        self.max_ids = max_ids
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        if not isinstance(value, list | tuple):
            value = [value]
        try:
            ids = [int(v) for v in value]
        except (TypeError, ValueError):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        if any(i < 1 for i in ids):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        if len(ids) > self.max_ids:
            raise forms.ValidationError(
                self.error_messages["too_many"], code="too_many", params={"max": self.max_ids}
            )
        return list(dict.fromkeys(ids))


class OutboxRetryForm(forms.Form):
    """Which failed emails staff put back in the queue (one row, or every failed row shown)."""

    kind = forms.ChoiceField(
        choices=[
            (OutboxFilterForm.NOTIFICATIONS, _("Notifications")),
            (OutboxFilterForm.DIGESTS, _("Daily digests")),
        ]
    )
    ids = IdListField(max_ids=100)
