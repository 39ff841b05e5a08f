from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from cbportal.accounts.models import Country
from cbportal.core.i18n import AlphabeticalChoiceIterator
from cbportal.core.models import GcmObjective, Language, ThematicArea
from requests_app.models import (
    AssessmentMethod,
    AssistanceRequest,
    AttachmentKind,
    CapacityGap,
    NeedsAssessment,
    RequestStatus,
)
from requests_app.sla import SlaState


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class ThematicAreaChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.display_name


class GcmChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.number}. {obj.display_title}"


class LanguageChoice(forms.ModelMultipleChoiceField):
    iterator = AlphabeticalChoiceIterator

    def label_from_instance(self, obj: Any) -> str:
        return obj.display_name


class CountryChoice(forms.ModelChoiceField):
    iterator = AlphabeticalChoiceIterator

    def label_from_instance(self, obj: Any) -> str:
        return obj.display_name


class RequestForm(forms.ModelForm):
    """The partner's request. Drafts may be incomplete; completeness is checked on submit
    (requests_app.services.submission_errors), so nothing typed is ever lost."""

    country = CountryChoice(label=_("Country"), queryset=Country.objects.all())
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
        help_text=_(
            "The objectives of the Global Compact for Migration the support contributes to."
        ),
    )
    languages = LanguageChoice(
        label=_("Working languages"),
        queryset=Language.objects.all(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text=_("Hold Ctrl (or ⌘) to choose several."),
    )
    attachment = forms.FileField(
        label=_("Attach a document"),
        required=False,
        help_text=_(
            "Official letter or background document: PDF, DOCX, XLSX, ODT, PNG or JPEG, at most 10 MB."
        ),
    )
    attachment_kind = forms.ChoiceField(
        label=_("Kind of document"),
        choices=AttachmentKind.choices,
        initial=AttachmentKind.OFFICIAL_LETTER,
    )

    class Meta:
        model = AssistanceRequest
        fields = [
            "title",
            "country",
            "problem_statement",
            "expected_outcomes",
            "target_institutions",
            "thematic_areas",
            "gcm_objectives",
            "preferred_start",
            "preferred_end",
            "languages",
        ]
        widgets = {
            "preferred_start": DateInput(),
            "preferred_end": DateInput(),
            "problem_statement": forms.Textarea(attrs={"rows": 5}),
            "expected_outcomes": forms.Textarea(attrs={"rows": 4}),
            "target_institutions": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "problem_statement": _("What problem does your institution face? What has been tried?"),
            "expected_outcomes": _("What should be different after the support?"),
            "target_institutions": _("The departments or institutions that would take part."),
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("preferred_start"), data.get("preferred_end")
        if start and end and end < start:
            # Said on the field, before the model's check constraint says it less clearly.
            self.add_error("preferred_end", _("The end must not be before the start."))
        return data

    def data_for_service(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in self.Meta.fields}


class TransitionForm(forms.Form):
    text = forms.CharField(
        label=_("Message"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
    )


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("Document"))
    kind = forms.ChoiceField(label=_("Kind of document"), choices=AttachmentKind.choices)


class TriageFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All open"))]
        + [
            (s.value, s.label)
            for s in (
                RequestStatus.SUBMITTED,
                RequestStatus.UNDER_REVIEW,
                RequestStatus.INFO_REQUESTED,
            )
        ],
    )
    country = CountryChoice(
        label=_("Country"), queryset=Country.objects.all(), required=False, to_field_name="code"
    )
    region = forms.ChoiceField(label=_("Region"), required=False)
    thematic_area = forms.ModelChoiceField(
        label=_("Thematic area"),
        queryset=ThematicArea.objects.filter(is_active=True),
        required=False,
        to_field_name="slug",
    )
    gcm_objective = forms.ModelChoiceField(
        label=_("GCM objective"), queryset=GcmObjective.objects.all(), required=False
    )
    sla = forms.ChoiceField(
        label=_("Service level"),
        required=False,
        choices=[("", _("Any"))]
        + [(s.value, s.label) for s in (SlaState.OVERDUE, SlaState.DUE_SOON, SlaState.ON_TIME)],
    )
    sort = forms.ChoiceField(
        label=_("Sort"),
        required=False,
        choices=[("oldest", _("Oldest first")), ("newest", _("Newest first"))],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from cbportal.accounts.models import Region

        cast(forms.ChoiceField, self.fields["region"]).choices = [("", _("Any")), *Region.choices]
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "form-select form-select-sm")


class AssessmentForm(forms.ModelForm):
    methods = forms.MultipleChoiceField(
        label=_("Methods"),
        choices=AssessmentMethod.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = NeedsAssessment
        fields = ["summary", "methods", "methods_other", "stakeholders_consulted"]
        widgets = {
            "summary": forms.Textarea(attrs={"rows": 4}),
            "stakeholders_consulted": forms.Textarea(attrs={"rows": 3}),
        }


class GapForm(forms.ModelForm):
    class Meta:
        model = CapacityGap
        fields = ["level", "description", "baseline", "target", "priority"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "baseline": forms.Textarea(attrs={"rows": 2}),
            "target": forms.Textarea(attrs={"rows": 2}),
        }
