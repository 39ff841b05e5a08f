"""Forms of the roster, matching and deployment pages. They check the shape of the input;
the rules live in experts/services.py."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cbportal.accounts.models import Country, Organisation, Region, Role, User
from cbportal.core.i18n import AlphabeticalChoiceIterator, share_choices
from cbportal.core.models import Language, ThematicArea
from experts import services
from experts.models import AdministrationType, CefrLevel, DeploymentStatus, Expert, VettingStatus
from requests_app.forms import CountryChoice, DateInput, ThematicAreaChoice

ANY = ("", _("Any"))


class SingleCountryChoice(CountryChoice):
    pass


class MultiCountryChoice(forms.ModelMultipleChoiceField):
    iterator = AlphabeticalChoiceIterator

    def label_from_instance(self, obj: Any) -> str:
        return obj.display_name


class LanguageSingleChoice(forms.ModelChoiceField):
    iterator = AlphabeticalChoiceIterator

    def label_from_instance(self, obj: Any) -> str:
        return obj.display_name


class ThematicAreaSingleChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.display_name


class ExpertAccountChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.display_name} ({obj.username})"


def _dates_in_order(form: forms.Form, start: str, end: str) -> None:
    data = form.cleaned_data
    if data.get(start) and data.get(end) and data[end] < data[start]:
        form.add_error(end, _("The end must not be before the start."))


# --- roster search ---------------------------------------------------------------------------


class RosterSearchForm(forms.Form):
    """The roster search filters; ``params()`` gives what ``selectors.roster_search`` takes."""

    q = forms.CharField(
        label=_("Words"),
        required=False,
        max_length=200,
        help_text=_("Found in the name, institution, biography or skills."),
    )
    thematic_area = ThematicAreaSingleChoice(
        label=_("Thematic area"),
        queryset=ThematicArea.objects.filter(is_active=True),
        required=False,
        to_field_name="slug",
        empty_label=_("Any"),
    )
    skill = forms.CharField(label=_("Skill"), required=False, max_length=80)
    language = LanguageSingleChoice(
        label=_("Language"),
        queryset=Language.objects.all(),
        required=False,
        to_field_name="code",
        empty_label=_("Any"),
    )
    min_level = forms.ChoiceField(
        label=_("At least (CEFR)"), required=False, choices=[ANY, *CefrLevel.choices]
    )
    country = SingleCountryChoice(
        label=_("Experience in the country"),
        queryset=Country.objects.all(),
        required=False,
        to_field_name="code",
        empty_label=_("Any"),
    )
    region = forms.ChoiceField(
        label=_("Experience in the region"), required=False, choices=[ANY, *Region.choices]
    )
    administration_type = forms.ChoiceField(
        label=_("Administration type"),
        required=False,
        choices=[ANY, *AdministrationType.choices],
    )
    nationality = SingleCountryChoice(
        label=_("Nationality"),
        queryset=Country.objects.all(),
        required=False,
        to_field_name="code",
        empty_label=_("Any"),
    )
    available_from = forms.DateField(label=_("Available from"), required=False, widget=DateInput())
    available_to = forms.DateField(label=_("Available until"), required=False, widget=DateInput())
    vetting_status = forms.ChoiceField(
        label=_("Vetting"), required=False, choices=[ANY, *VettingStatus.choices]
    )
    active = forms.ChoiceField(
        label=_("Active"),
        required=False,
        choices=[ANY, ("yes", _("Active only")), ("no", _("Inactive only"))],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        share_choices(self, "country", "nationality")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _dates_in_order(self, "available_from", "available_to")
        if data.get("min_level") and not data.get("language"):
            self.add_error("language", _("Choose the language the level is for."))
        return data

    def params(self) -> dict[str, Any]:
        data = self.cleaned_data
        active = data.get("active")
        return {
            "q": data.get("q") or "",
            "thematic_area": data["thematic_area"].slug if data.get("thematic_area") else "",
            "skill": (data.get("skill") or "").strip(),
            "language": data["language"].code if data.get("language") else "",
            "min_level": data.get("min_level") or "",
            "country": data["country"].code if data.get("country") else "",
            "region": data.get("region") or "",
            "administration_type": data.get("administration_type") or "",
            "nationality": data["nationality"].code if data.get("nationality") else "",
            "available_from": data.get("available_from"),
            "available_to": data.get("available_to"),
            "vetting_status": data.get("vetting_status") or "",
            "is_active": {"yes": True, "no": False}.get(active or ""),
        }


# --- profile ---------------------------------------------------------------------------------


class ExpertProfileForm(forms.Form):
    """The profile, as an expert keeps it; staff also see the account link and the active
    flag (``staff=True``)."""

    full_name = forms.CharField(label=_("Full name"), max_length=200)
    email = forms.EmailField(label=_("Contact email"), required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    home_institution = forms.CharField(
        label=_("Home institution"),
        max_length=200,
        required=False,
        help_text=_("The administration or organisation you work for."),
    )
    organisation = forms.ModelChoiceField(
        label=_("Employer registered in CB Portal"),
        queryset=Organisation.objects.order_by("name"),
        required=False,
        empty_label=_("None of them"),
        help_text=_(
            "If you work for one of the organisations that ask the programme for support, "
            "say so: you will not be proposed for its own requests (conflict of interest)."
        ),
    )
    administration_type = forms.ChoiceField(
        label=_("Administration type"), choices=AdministrationType.choices
    )
    nationality = SingleCountryChoice(
        label=_("Nationality"), queryset=Country.objects.all(), required=False
    )
    residence = SingleCountryChoice(
        label=_("Country of residence"), queryset=Country.objects.all(), required=False
    )
    years_experience = forms.IntegerField(
        label=_("Years of experience"), min_value=0, max_value=70, initial=0
    )
    biography = forms.CharField(
        label=_("Short biography"),
        required=False,
        max_length=3000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Partners of your confirmed missions read it."),
    )
    thematic_areas = ThematicAreaChoice(
        label=_("Thematic areas"),
        queryset=ThematicArea.objects.filter(is_active=True),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        to_field_name="slug",
    )
    skills = forms.CharField(
        label=_("Skills"),
        required=False,
        max_length=2000,
        help_text=_("Separate skills with commas, for instance: statistics, border management."),
        widget=forms.TextInput(attrs={"list": "skill-suggestions"}),
    )
    countries_of_experience = MultiCountryChoice(
        label=_("Countries where you have worked"),
        queryset=Country.objects.all(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text=_("Hold Ctrl (or ⌘) to choose several."),
    )
    consent_contact = forms.BooleanField(
        label=_("I agree to be contacted about missions"),
        required=False,
        help_text=_(
            "Without this agreement staff cannot invite you: you stay on the roster but "
            "receive no invitation."
        ),
    )
    consent_retention = forms.BooleanField(
        label=_("I agree that CB Portal keeps my profile and CV"),
        required=False,
        help_text=_(
            "The programme keeps your data to match you to future needs. You can download "
            "everything held about you and ask for its deletion at any time."
        ),
    )
    share_contact = forms.BooleanField(
        label=_("Share my email and phone with the partners of my confirmed missions"),
        required=False,
        help_text=_("Otherwise partners see only your name, institution and biography."),
    )
    is_active = forms.BooleanField(
        label=_("Active on the roster"),
        required=False,
        initial=True,
        help_text=_("Inactive experts are never proposed by matching."),
    )
    user = ExpertAccountChoice(
        label=_("CB Portal account"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("No account"),
        help_text=_("An expert answers invitations with their own account."),
    )

    def __init__(
        self, *args: Any, staff: bool = False, expert: Expert | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if not staff:
            del self.fields["is_active"]
            del self.fields["user"]
        else:
            free = User.objects.filter(
                role=Role.EXPERT, is_active=True, expert_profile__isnull=True
            )
            if expert is not None and expert.user_id:
                free = free | User.objects.filter(pk=expert.user_id)
            self.fields["user"].queryset = free.order_by("last_name", "first_name", "username")  # type: ignore[attr-defined]

    def clean_skills(self) -> list[str]:
        return [s.strip() for s in self.cleaned_data["skills"].split(",") if s.strip()]

    def service_data(self) -> dict[str, Any]:
        """The cleaned data as ``services.expert_create`` / ``expert_update`` take it."""
        data = dict(self.cleaned_data)
        data["thematic_areas"] = list(data.get("thematic_areas") or [])
        data["countries_of_experience"] = list(data.get("countries_of_experience") or [])
        return data

    @staticmethod
    def initial_for(expert: Expert) -> dict[str, Any]:
        return {
            "full_name": expert.full_name,
            "email": expert.email,
            "phone": expert.phone,
            "home_institution": expert.home_institution,
            "organisation": expert.organisation_id,
            "administration_type": expert.administration_type,
            "nationality": expert.nationality_id,
            "residence": expert.residence_id,
            "years_experience": expert.years_experience,
            "biography": expert.biography,
            "thematic_areas": list(expert.thematic_areas.all()),
            "skills": ", ".join(s.name for s in expert.skills.all()),
            "countries_of_experience": list(expert.countries_of_experience.all()),
            "consent_contact": expert.consent_contact,
            "consent_retention": expert.consent_retention,
            "share_contact": expert.share_contact,
            "is_active": expert.is_active,
            "user": expert.user_id,
        }


class LanguageRowForm(forms.Form):
    """One language of the profile with its CEFR level."""

    language = LanguageSingleChoice(
        label=_("Language"),
        queryset=Language.objects.all(),
        required=False,
        to_field_name="code",
        empty_label=_("Choose a language"),
    )
    level = forms.ChoiceField(
        label=_("Level (CEFR)"),
        required=False,
        choices=[("", _("Choose a level")), *CefrLevel.choices],
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.cleaned_data.get("DELETE"):
            return data
        if data.get("language") and not data.get("level"):
            self.add_error("level", _("Give your level in this language."))
        elif data.get("level") and not data.get("language"):
            self.add_error("language", _("Choose the language of this level."))
        return data


class BaseLanguageFormSet(forms.BaseFormSet):  # type: ignore[type-arg]
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        seen: set[str] = set()
        for row in self.languages():
            if row["code"] in seen:
                raise forms.ValidationError(_("Give each language once."))
            seen.add(row["code"])

    def languages(self) -> list[dict[str, str]]:
        rows = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", {}) or {}
            if data.get("DELETE") or not data.get("language"):
                continue
            rows.append({"code": data["language"].code, "level": data.get("level") or ""})
        return rows


LanguageFormSet = forms.formset_factory(
    LanguageRowForm,
    formset=BaseLanguageFormSet,
    extra=2,
    can_delete=True,
    max_num=30,
    validate_max=True,
)


def language_formset(data: Any = None, expert: Expert | None = None) -> Any:
    """The rows of the profile's languages. A posted formset is read without initial
    values: every row posted is what the expert wants kept, changed or not."""
    initial = (
        [{"language": lang.language_id, "level": lang.level} for lang in expert.languages.all()]
        if expert is not None and data is None
        else []
    )
    return LanguageFormSet(data, initial=initial, prefix="languages")


class UnavailabilityForm(forms.Form):
    start_date = forms.DateField(label=_("From"), widget=DateInput())
    end_date = forms.DateField(label=_("To"), widget=DateInput())
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _dates_in_order(self, "start_date", "end_date")
        return data


class CvForm(forms.Form):
    file = forms.FileField(
        label=_("CV"), help_text=_("PDF, DOCX or ODT, at most 10 MB. It replaces the current CV.")
    )


class VetForm(forms.Form):
    """Two buttons, ``decision=approve`` and ``decision=reject``; rejecting needs a note."""

    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    note = forms.CharField(
        label=_("Note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required to reject; the expert reads it."),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == "reject" and not (data.get("note") or "").strip():
            self.add_error("note", _("Say why the profile is rejected."))
        return data


class AnonymiseForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I confirm: delete this expert's personal data for good"), required=True
    )


# --- matching and deployments -------------------------------------------------------------------


class ShortlistActionForm(forms.Form):
    do = forms.ChoiceField(choices=[("shortlist", _("Shortlist")), ("invite", _("Invite"))])


class ConfirmForm(forms.Form):
    """Mission dates and expert-days fixed when staff confirm."""

    start_date = forms.DateField(label=_("Mission start"), widget=DateInput())
    end_date = forms.DateField(label=_("Mission end"), widget=DateInput())
    expert_days = forms.IntegerField(label=_("Expert-days"), min_value=1, max_value=10000)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _dates_in_order(self, "start_date", "end_date")
        return data

    @staticmethod
    def initial_for(deployment: Any) -> dict[str, Any]:
        activity = deployment.need.activity
        start = deployment.start_date or activity.start_date
        end = deployment.end_date or activity.end_date
        return {
            "start_date": start,
            "end_date": end,
            "expert_days": deployment.expert_days
            or services.default_expert_days(deployment, start, end),
        }


class ReasonForm(forms.Form):
    text = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))


class DeploymentFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[ANY, *DeploymentStatus.choices]
    )


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


class MissionReportForm(forms.Form):
    summary = forms.CharField(
        label=_("Summary"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What was done, with whom, and how it went."),
    )
    outputs = forms.CharField(
        label=_("Outputs"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Documents, trainings, drafts delivered."),
    )
    recommendations = forms.CharField(
        label=_("Recommendations"), widget=forms.Textarea(attrs={"rows": 3})
    )
    days_worked = forms.IntegerField(label=_("Days actually worked"), min_value=1, max_value=10000)
    attachments = MultipleFileField(
        label=_("Attachments"),
        required=False,
        help_text=_("Optional: PDF, DOCX, XLSX, ODT, PNG or JPEG, at most 10 MB each."),
    )


class RateForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("Rating"),
        coerce=int,
        choices=[
            (5, _("5 — excellent")),
            (4, _("4 — good")),
            (3, _("3 — satisfactory")),
            (2, _("2 — weak")),
            (1, _("1 — poor")),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
