"""Forms of the monitoring and evaluation pages.

They only shape the input for the services (evaluations/services.py), which check every
rule — the unit of a value, dates within the action's period, ratings 1–4 — so that the
pages and the API refuse bad input with the same words. Fields are therefore lenient
(mostly text, seldom required) and the service's field errors are put back on them
(cbportal.core.forms.apply_errors).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from cbportal.accounts.models import Country
from evaluations.models import (
    DAC_CRITERIA,
    RATING_LABELS,
    CbLevel,
    Direction,
    EvaluationStatus,
    FinalEvaluation,
    Frequency,
    Indicator,
    Progress,
    Unit,
)
from requests_app.forms import CountryChoice, DateInput

EVIDENCE_HELP = _(
    "PDF, DOCX, XLSX, ODT, PNG or JPEG. If the form shows an error, choose the file again."
)

# Satisfaction 1–5 in words (radio buttons read out the words, not only a number).
SATISFACTION_CHOICES = [
    ("1", _("1 — Very dissatisfied")),
    ("2", _("2 — Dissatisfied")),
    ("3", _("3 — Neither satisfied nor dissatisfied")),
    ("4", _("4 — Satisfied")),
    ("5", _("5 — Very satisfied")),
]


def _decimal_input(**attrs: Any) -> forms.TextInput:
    """A text box for a number: ``inputmode`` brings up the numeric keyboard on phones,
    and the service (not the browser) decides what is valid."""
    return forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", **attrs})


class IndicatorForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    level = forms.ChoiceField(label=_("Capacity level"), choices=CbLevel.choices)
    objective = forms.ChoiceField(label=_("Objective it measures"), required=False)
    unit = forms.ChoiceField(label=_("Unit"), choices=Unit.choices)
    baseline = forms.CharField(
        label=_("Baseline"),
        widget=_decimal_input(),
        help_text=_("Yes/no: 1 for yes, 0 for no. Percentage: 0 to 100. Scale: 1 to 5."),
    )
    target = forms.CharField(label=_("Target"), widget=_decimal_input())
    direction = forms.ChoiceField(
        label=_("The indicator should"), choices=Direction.choices, initial=Direction.INCREASE
    )
    frequency = forms.ChoiceField(
        label=_("Measured"), choices=Frequency.choices, initial=Frequency.QUARTERLY
    )
    means_of_verification = forms.CharField(
        label=_("Means of verification"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, objectives: list[tuple[Any, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["objective"].choices = [("", _("None")), *objectives]  # type: ignore[attr-defined]

    @staticmethod
    def initial_for(indicator: Indicator) -> dict[str, Any]:
        return {
            "name": indicator.name,
            "level": indicator.level,
            "objective": indicator.objective_id or "",
            "unit": indicator.unit,
            "baseline": _plain_number(indicator.baseline),
            "target": _plain_number(indicator.target),
            "direction": indicator.direction,
            "frequency": indicator.frequency,
            "means_of_verification": indicator.means_of_verification,
        }


def _plain_number(value: Any) -> str:
    """``20.00`` → ``20``, ``12.50`` → ``12.5`` (what a person would type)."""
    if value is None:
        return ""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


class MeasurementForm(forms.Form):
    """A dated reading of one indicator; the value box suits the indicator's unit."""

    date = forms.DateField(label=_("Date"), widget=DateInput())
    value = forms.CharField(label=_("Value"))
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    evidence_file = forms.FileField(
        label=_("Evidence file"), required=False, help_text=EVIDENCE_HELP
    )
    evidence_url = forms.CharField(
        label=_("Evidence link"),
        required=False,
        max_length=500,
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
    )

    def __init__(self, *args: Any, unit: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["value"]
        if unit == Unit.YES_NO:
            field.widget = forms.Select(choices=[("", "—"), ("1", _("Yes")), ("0", _("No"))])
            field.label = _("Value (yes or no)")
        elif unit == Unit.SCALE:
            field.widget = forms.Select(
                choices=[("", "—"), *((str(n), str(n)) for n in range(1, 6))]
            )
            field.label = _("Value (1 to 5)")
        elif unit == Unit.PERCENTAGE:
            field.widget = forms.NumberInput(
                attrs={"min": "0", "max": "100", "step": "0.01", "inputmode": "decimal"}
            )
            field.label = _("Value (percentage, 0 to 100)")
        else:
            field.widget = forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"})


class OutcomeForm(forms.Form):
    level = forms.ChoiceField(label=_("Capacity level"), choices=CbLevel.choices)
    description = forms.CharField(
        label=_("What changed"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    evidence = forms.CharField(
        label=_("Evidence (description)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    date = forms.DateField(label=_("Date"), widget=DateInput())
    evidence_file = forms.FileField(
        label=_("Evidence file"), required=False, help_text=EVIDENCE_HELP
    )
    evidence_url = forms.CharField(
        label=_("Evidence link"),
        required=False,
        max_length=500,
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
    )


class ParticipantsForm(forms.Form):
    participants_women = forms.IntegerField(
        label=_("Women"), widget=forms.NumberInput(attrs={"min": "0"})
    )
    participants_men = forms.IntegerField(
        label=_("Men"), widget=forms.NumberInput(attrs={"min": "0"})
    )
    participants_other = forms.IntegerField(
        label=_("Other or not stated"), widget=forms.NumberInput(attrs={"min": "0"})
    )


class FeedbackLinksForm(forms.Form):
    count = forms.IntegerField(
        label=_("Number of links"),
        initial=10,
        help_text=_("One link per participant: each link accepts one answer."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["count"].widget.attrs.update(
            {"min": "1", "max": str(settings.FEEDBACK_LINKS_MAX)}
        )


class FeedbackForm(forms.Form):
    """Satisfaction 1–5 and comments: the partner's form and the participants' public one."""

    satisfaction = forms.ChoiceField(
        label=_("How satisfied are you with this activity?"),
        choices=SATISFACTION_CHOICES,
        widget=forms.RadioSelect,
        required=False,
    )
    comments = forms.CharField(
        label=_("Comments"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What was useful, what could be better? Please do not name other people."),
    )


class EvaluationForm(forms.Form):
    """The final evaluation: a 1–4 rating and a justification per OECD-DAC criterion,
    findings, lessons learned and recommendations (one per line)."""

    findings = forms.CharField(
        label=_("Findings"), required=False, widget=forms.Textarea(attrs={"rows": 5})
    )
    lessons = forms.CharField(
        label=_("Lessons learned"), required=False, widget=forms.Textarea(attrs={"rows": 5})
    )
    recommendations = forms.CharField(
        label=_("Recommendations"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("One recommendation per line."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ratings = [(str(n), f"{n} — {label}") for n, label in RATING_LABELS.items()]
        for name, _label in DAC_CRITERIA:
            self.fields[name] = forms.ChoiceField(
                label=_("Rating"),
                choices=ratings,
                widget=forms.RadioSelect,
                required=False,
            )
            self.fields[f"{name}_justification"] = forms.CharField(
                label=_("Justification"),
                required=False,
                widget=forms.Textarea(attrs={"rows": 3}),
            )
        self.criteria = [
            (name, label, self[name], self[f"{name}_justification"]) for name, label in DAC_CRITERIA
        ]

    @staticmethod
    def initial_for(evaluation: FinalEvaluation | None) -> dict[str, Any]:
        if evaluation is None:
            return {}
        values: dict[str, Any] = {
            "findings": evaluation.findings,
            "lessons": evaluation.lessons,
            "recommendations": "\n".join(r.text for r in evaluation.recommendations.all()),
        }
        for name, _label in DAC_CRITERIA:
            rating = getattr(evaluation, name)
            values[name] = str(rating) if rating is not None else ""
            values[f"{name}_justification"] = getattr(evaluation, f"{name}_justification")
        return values

    def service_data(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


# --- list filters ---------------------------------------------------------------------


def _small(form: forms.Form) -> None:
    for field in form.fields.values():
        css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
        field.widget.attrs.setdefault("class", f"{css} {css}-sm")


class EvaluationFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any")), *EvaluationStatus.choices],
    )
    country = CountryChoice(
        label=_("Country"),
        queryset=Country.objects.all(),
        required=False,
        to_field_name="code",
        empty_label=_("Any"),
    )
    q = forms.CharField(
        label=_("Action reference, title or partner"), required=False, max_length=200
    )

    def __init__(self, *args: Any, with_status: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not with_status:
            del self.fields["status"]
        _small(self)


class IndicatorFilterForm(forms.Form):
    action = forms.CharField(label=_("Action (reference or title)"), required=False, max_length=200)
    level = forms.ChoiceField(
        label=_("Capacity level"), required=False, choices=[("", _("Any")), *CbLevel.choices]
    )
    progress = forms.ChoiceField(
        label=_("Progress"), required=False, choices=[("", _("Any")), *Progress.choices]
    )
    country = CountryChoice(
        label=_("Country"),
        queryset=Country.objects.all(),
        required=False,
        to_field_name="code",
        empty_label=_("Any"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _small(self)
