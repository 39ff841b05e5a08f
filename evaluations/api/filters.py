"""Filters of the monitoring and evaluation API lists (and of their CSV/XLSX exports, which
run the same ``filter_queryset``). They narrow what ``evaluations.selectors`` already
scoped to the user; an action or activity outside that scope is refused (400), not
answered with a silently empty list."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters

from actions.models import Action, Activity
from actions.selectors import actions_for, activities_for
from cbportal.core.api.filters import VisibleChoiceFilter
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
from evaluations.selectors import indicators_for


def _actions(user: Any) -> QuerySet[Action]:
    return actions_for(user) if user is not None else Action.objects.none()


def _activities(user: Any) -> QuerySet[Activity]:
    return activities_for(user) if user is not None else Activity.objects.none()


def _indicators(user: Any) -> QuerySet[Indicator]:
    return indicators_for(user) if user is not None else Indicator.objects.none()


def action_filter(field_name: str) -> VisibleChoiceFilter:
    return VisibleChoiceFilter(
        _actions,
        field_name=field_name,
        message=_("There is no action %(value)s among those you may see."),
    )


def activity_filter(field_name: str) -> VisibleChoiceFilter:
    return VisibleChoiceFilter(
        _activities,
        field_name=field_name,
        message=_("There is no activity %(value)s among those you may see."),
    )


class IndicatorFilter(filters.FilterSet):
    action = action_filter("action")
    level = filters.ChoiceFilter(choices=CbLevel.choices)
    unit = filters.ChoiceFilter(choices=Unit.choices)
    progress_status = filters.MultipleChoiceFilter(choices=Progress.choices)

    class Meta:
        model = Indicator
        fields = ["action", "level", "unit", "progress_status"]


class MeasurementFilter(filters.FilterSet):
    indicator = VisibleChoiceFilter(
        _indicators,
        field_name="indicator",
        message=_("There is no indicator %(value)s among those you may see."),
    )
    action = action_filter("indicator__action")

    class Meta:
        model = Measurement
        fields = ["indicator", "action"]


class OutcomeFilter(filters.FilterSet):
    action = action_filter("action")
    level = filters.ChoiceFilter(choices=CbLevel.choices)

    class Meta:
        model = Outcome
        fields = ["action", "level"]


class FeedbackFilter(filters.FilterSet):
    activity = activity_filter("activity")
    action = action_filter("activity__action")
    respondent = filters.ChoiceFilter(choices=RespondentKind.choices)

    class Meta:
        model = Feedback
        fields = ["activity", "action", "respondent"]


class FeedbackLinkFilter(filters.FilterSet):
    activity = activity_filter("activity")
    used = filters.BooleanFilter(
        field_name="used_at", lookup_expr="isnull", exclude=True, label="Answered already"
    )

    class Meta:
        model = FeedbackLink
        fields = ["activity", "used"]


class EvaluationFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=EvaluationStatus.choices)
    action = action_filter("action")

    class Meta:
        model = FinalEvaluation
        fields = ["status", "action"]
