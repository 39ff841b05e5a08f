"""Filters of the monitoring and evaluation API lists (and of their CSV/XLSX exports, which
run the same ``filter_queryset``). They narrow what ``evaluations.selectors`` already
scoped to the user; an id outside that scope simply matches nothing."""

from __future__ import annotations

from django_filters import rest_framework as filters

from evaluations.models import (
    CbLevel,
    EvaluationStatus,
    Feedback,
    FeedbackLink,
    FinalEvaluation,
    Indicator,
    Measurement,
    Outcome,
    Progress,
    RespondentKind,
    Unit,
)


class IndicatorFilter(filters.FilterSet):
    action = filters.NumberFilter(field_name="action_id")
    level = filters.ChoiceFilter(choices=CbLevel.choices)
    unit = filters.ChoiceFilter(choices=Unit.choices)
    progress_status = filters.MultipleChoiceFilter(choices=Progress.choices)

    class Meta:
        model = Indicator
        fields = ["action", "level", "unit", "progress_status"]


class MeasurementFilter(filters.FilterSet):
    indicator = filters.NumberFilter(field_name="indicator_id")
    action = filters.NumberFilter(field_name="indicator__action_id")

    class Meta:
        model = Measurement
        fields = ["indicator", "action"]


class OutcomeFilter(filters.FilterSet):
    action = filters.NumberFilter(field_name="action_id")
    level = filters.ChoiceFilter(choices=CbLevel.choices)

    class Meta:
        model = Outcome
        fields = ["action", "level"]


class FeedbackFilter(filters.FilterSet):
    activity = filters.NumberFilter(field_name="activity_id")
    action = filters.NumberFilter(field_name="activity__action_id")
    respondent = filters.ChoiceFilter(choices=RespondentKind.choices)

    class Meta:
        model = Feedback
        fields = ["activity", "action", "respondent"]


class FeedbackLinkFilter(filters.FilterSet):
    activity = filters.NumberFilter(field_name="activity_id")
    used = filters.BooleanFilter(
        field_name="used_at", lookup_expr="isnull", exclude=True, label="Answered already"
    )

    class Meta:
        model = FeedbackLink
        fields = ["activity", "used"]


class EvaluationFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=EvaluationStatus.choices)
    action = filters.NumberFilter(field_name="action_id")

    class Meta:
        model = FinalEvaluation
        fields = ["status", "action"]
