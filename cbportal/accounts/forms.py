from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.forms import PasswordResetForm as DjangoPasswordResetForm
from django.contrib.auth.password_validation import (
    password_validators_help_text_html,
    validate_password,
)
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from cbportal.accounts.models import Organisation, Role
from cbportal.core.notifications import notify_on_commit


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _(
            "The username and password do not match an active account. Both are case-sensitive."
        ),
        "inactive": _("This account is inactive."),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update({"autocomplete": "username", "autofocus": True})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})


class PasswordResetForm(DjangoPasswordResetForm):
    """Django's form, but the email goes through the outbox like every other one: a
    ``password_reset`` notification per active account with that address and a usable
    password, its link made at delivery time (``accounts.notifications``). An unknown address
    writes nothing, and the page that follows is the same either way."""

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Django's arguments (templates, domain, token generator) describe its own sending;
        # the outbox renders templates/emails/password_reset/ with links on SITE_URL.
        with transaction.atomic():
            for user in self.get_users(self.cleaned_data["email"]):
                notify_on_commit("password_reset", None, [user])


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Verification code"),
        max_length=12,
        help_text=_("The six-digit code shown by your authenticator app."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_token(self) -> str:
        token = self.cleaned_data["token"].replace(" ", "")
        if not token.isdigit():
            raise ValidationError(_("Enter the digits shown by your authenticator app."))
        return token


class InvitationAcceptForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Password (again)"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)
        if user is not None:
            self.fields["first_name"].initial = user.first_name
            self.fields["last_name"].initial = user.last_name

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("The two passwords differ."))
        elif p1:
            try:
                validate_password(p1, self.user)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return data


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("Email address"))
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    role = forms.ChoiceField(
        label=_("Role"),
        choices=[(r.value, r.label) for r in (Role.PARTNER, Role.EXPERT, Role.EVALUATOR)],
    )
    organisation = forms.ModelChoiceField(
        label=_("Organisation"),
        queryset=Organisation.objects.filter(is_active=True).select_related("country"),
        required=False,
        help_text=_("Required for partner focal points."),
    )
    language = forms.ChoiceField(label=_("Language of emails"), choices=settings.LANGUAGES)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("role") == Role.PARTNER and not data.get("organisation"):
            self.add_error(
                "organisation", _("A partner focal point must belong to an organisation.")
            )
        return data


class LanguageForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
