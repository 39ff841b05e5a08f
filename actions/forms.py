from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from actions.models import (
    ActivityStatus,
    ActivityType,
    AmendmentReason,
    Modality,
    OriginPreference,
    Skill,
)
from cbportal.accounts.models import Country, Role, User
from cbportal.core.models import GcmObjective, Language, ThematicArea
from requests_app.forms import (
    CountryChoice,
    DateInput,
    GcmChoice,
    LanguageChoice,
    ThematicAreaChoice,
)


class ActionCreateForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    start_date = forms.DateField(label=_("Start"), widget=DateInput())
    end_date = forms.DateField(label=_("End"), widget=DateInput())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("start_date")
            and data.get("end_date")
            and data["end_date"] < data["start_date"]
        ):
            self.add_error("end_date", _("The end must not be before the start."))
        return data


class EvaluatorChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.display_name


class ActionForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    summary = forms.CharField(
        label=_("Public summary"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Shown on the public portfolio if the partner agrees. No personal data."),
    )
    thematic_areas = ThematicAreaChoice(
        label=_("Thematic areas"),
        queryset=ThematicArea.objects.filter(is_active=True),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    gcm_objectives = GcmChoice(
        label=_("GCM objectives"),
        queryset=GcmObjective.objects.all(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    evaluators = EvaluatorChoice(
        label=_("Evaluators"),
        queryset=User.objects.filter(role=Role.EVALUATOR, is_active=True),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )


class PublishForm(forms.Form):
    publish = forms.BooleanField(
        label=_("We agree that this action appears on the public portfolio"), required=False
    )


class PeriodForm(forms.Form):
    start_date = forms.DateField(label=_("Start of the action"), widget=DateInput())
    end_date = forms.DateField(label=_("End of the action"), widget=DateInput())


class ObjectiveForm(forms.Form):
    text = forms.CharField(label=_("Objective"), widget=forms.Textarea(attrs={"rows": 2}))
    gaps = forms.MultipleChoiceField(
        label=_("Capacity gaps it closes"), widget=forms.CheckboxSelectMultiple, required=False
    )

    def __init__(self, *args: Any, gap_choices: list[tuple[Any, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["gaps"].choices = gap_choices  # type: ignore[attr-defined]


class ActivityForm(forms.Form):
    type = forms.ChoiceField(label=_("Type"), choices=ActivityType.choices)
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    start_date = forms.DateField(label=_("Start"), widget=DateInput())
    end_date = forms.DateField(label=_("End"), widget=DateInput())
    modality = forms.ChoiceField(label=_("Modality"), choices=Modality.choices)
    country = CountryChoice(label=_("Country"), queryset=Country.objects.all(), required=False)
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    expected_participants = forms.IntegerField(
        label=_("Expected participants"), min_value=0, initial=0
    )
    participants_women = forms.IntegerField(label=_("of whom women"), min_value=0, initial=0)
    participants_men = forms.IntegerField(label=_("of whom men"), min_value=0, initial=0)
    participants_other = forms.IntegerField(
        label=_("of whom other or not stated"), min_value=0, initial=0
    )
    status = forms.ChoiceField(
        label=_("Status"), choices=ActivityStatus.choices, initial=ActivityStatus.PLANNED
    )
    objectives = forms.MultipleChoiceField(
        label=_("Objectives it serves"), widget=forms.CheckboxSelectMultiple, required=False
    )

    def __init__(self, *args: Any, objective_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["objectives"].choices = objective_choices  # type: ignore[attr-defined]


class NeedForm(forms.Form):
    thematic_area = forms.ModelChoiceField(
        label=_("Thematic area"),
        queryset=ThematicArea.objects.filter(is_active=True),
        to_field_name="slug",
    )
    skills = forms.CharField(
        label=_("Skills"),
        required=False,
        help_text=_("Separate skills with commas; suggestions come from skills already used."),
        widget=forms.TextInput(attrs={"list": "skill-suggestions"}),
    )
    languages = LanguageChoice(
        label=_("Required languages"),
        queryset=Language.objects.all(),
        required=False,
        to_field_name="code",
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    experts_needed = forms.IntegerField(
        label=_("Experts needed"), min_value=1, max_value=1000, initial=1
    )
    expert_days = forms.IntegerField(
        label=_("Expert-days"), min_value=1, max_value=10000, initial=5
    )
    origin_preference = forms.ChoiceField(
        label=_("Origin preference"), choices=OriginPreference.choices, initial=OriginPreference.ANY
    )
    notes = forms.CharField(
        label=_("Terms of reference"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def clean_skills(self) -> list[str]:
        return [s.strip() for s in self.cleaned_data["skills"].split(",") if s.strip()]


class AmendmentForm(forms.Form):
    reason_category = forms.ChoiceField(
        label=_("Why does the plan change?"), choices=AmendmentReason.choices
    )
    reason = forms.CharField(label=_("Explanation"), widget=forms.Textarea(attrs={"rows": 3}))
    requested_by = forms.CharField(
        label=_("Who asked for the change?"),
        max_length=200,
        help_text=_("A person and their institution."),
    )


class ActionFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False)
    country = CountryChoice(
        label=_("Country"),
        queryset=Country.objects.all(),
        required=False,
        to_field_name="code",
        empty_label=_("Any"),
    )
    region = forms.ChoiceField(label=_("Region"), required=False)
    thematic_area = forms.ModelChoiceField(
        label=_("Thematic area"),
        queryset=ThematicArea.objects.filter(is_active=True),
        required=False,
        to_field_name="slug",
        empty_label=_("Any"),
    )
    gcm_objective = forms.ModelChoiceField(
        label=_("GCM objective"),
        queryset=GcmObjective.objects.all(),
        required=False,
        empty_label=_("Any"),
    )
    active_on = forms.DateField(label=_("Running on"), required=False, widget=DateInput())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from actions.models import ActionStatus
        from cbportal.accounts.models import Region

        self.fields["status"].choices = [("", _("Any")), *ActionStatus.choices]  # type: ignore[attr-defined]
        self.fields["region"].choices = [("", _("Any")), *Region.choices]  # type: ignore[attr-defined]
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "form-select form-select-sm")
        self.fields["active_on"].widget.attrs["class"] = "form-control form-control-sm"


def skill_suggestions() -> list[str]:
    return list(Skill.objects.order_by("name").values_list("name", flat=True)[:500])
