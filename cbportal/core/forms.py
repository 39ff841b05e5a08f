"""Forms shared by every app: showing an application error the same way on every page,
and the notification delivery choices."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cbportal.accounts.models import Organisation
from cbportal.core.errors import ApplicationError
from cbportal.core.models import CONFIGURABLE_CATEGORIES, DeliveryMode, NotificationCategory


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
