"""Serializers of the monitoring and evaluation API.

They check the shape and types of what clients send; what the input means (a value that
suits the indicator's unit, a date within the action's period, a rating from 1 to 4, who
may record what) is checked by ``evaluations.services``, which the pages share.

Related objects are written by id and must be visible to the requesting user (anything
else "does not exist": 400 on the field, as it would answer 404 on its own URL). Evidence
files are uploaded as multipart/form-data and read back as the URL of the view that
serves them after a permission check — never as a storage path.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from actions import selectors as action_selectors
from actions.models import Action, Activity
from cbportal.core.api.serializers import StrictModelSerializer, StrictSerializer
from cbportal.core.api.transitions import AllowedTransitionsField
from evaluations import selectors
from evaluations.models import (
    DAC_CRITERIA,
    CbLevel,
    Direction,
    Feedback,
    FeedbackLink,
    FinalEvaluation,
    Frequency,
    Indicator,
    Measurement,
    Outcome,
    Recommendation,
    Unit,
)
from evaluations.workflow import EVALUATION_WORKFLOW
from experts.api.serializers import VisibleRelatedField

# --- what a user may name by id -----------------------------------------------------------


def _visible_actions(user: Any) -> QuerySet[Action]:
    return action_selectors.actions_for(user) if user is not None else Action.objects.none()


def _visible_activities(user: Any) -> QuerySet[Activity]:
    if user is None:
        return Activity.objects.none()
    return action_selectors.activities_for(user)


def _visible_indicators(user: Any) -> QuerySet[Indicator]:
    return selectors.indicators_for(user) if user is not None else Indicator.objects.none()


# --- shared fields ------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.INT)
class VisibleId(VisibleRelatedField):
    """A related object by id, among those the requesting user may see."""


class EvidenceFileField(serializers.FileField):
    """Write: an uploaded file (multipart/form-data; PDF, DOCX, XLSX, ODT, PNG or JPEG,
    checked by content). Read: the URL that serves it to those who may see it, or null."""

    def __init__(self, url_name: str, **kwargs: Any) -> None:
        self.url_name = url_name
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault(
            "help_text",
            "Upload: a PDF, DOCX, XLSX, ODT, PNG or JPEG file (multipart/form-data). "
            "Read: the URL that downloads it, or null.",
        )
        super().__init__(**kwargs)

    def get_attribute(self, instance: Any) -> Any:
        return instance

    def to_representation(self, value: Any) -> str | None:
        if not value.evidence_file:
            return None
        return reverse(self.url_name, args=[value.pk])


def _display_name(user: Any) -> str | None:
    return user.display_name if user is not None else None


# --- measurements -------------------------------------------------------------------------


class MeasurementSerializer(StrictModelSerializer):
    """A dated value of an indicator with a note and evidence (a file, a link or both).
    Staff and the action's assigned evaluators record them."""

    indicator = VisibleId(_visible_indicators)
    action = serializers.IntegerField(source="indicator.action_id", read_only=True)
    evidence_url = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        help_text="A link to the evidence (http:// or https://).",
    )
    evidence_file = EvidenceFileField("evaluations:measurement-evidence")
    recorded_by = serializers.SerializerMethodField()

    class Meta:
        model = Measurement
        fields = [
            "id",
            "indicator",
            "action",
            "date",
            "value",
            "note",
            "evidence_url",
            "evidence_file",
            "evidence_name",
            "recorded_by",
            "recorded_at",
        ]
        read_only_fields = ["id", "evidence_name", "recorded_at"]
        extra_kwargs = {
            "note": {"required": False},
            "value": {"help_text": "A number that suits the unit (yes/no: 1 or 0)."},
        }

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_recorded_by(self, obj: Measurement) -> str | None:
        return _display_name(obj.recorded_by)


class IndicatorMeasurementSerializer(MeasurementSerializer):
    """A measurement as listed inside its indicator (newest first)."""

    class Meta(MeasurementSerializer.Meta):
        fields = [
            "id",
            "date",
            "value",
            "note",
            "evidence_url",
            "evidence_file",
            "evidence_name",
            "recorded_by",
            "recorded_at",
        ]
        read_only_fields = fields


# --- indicators ---------------------------------------------------------------------------


class IndicatorSerializer(StrictModelSerializer):
    """An indicator of an action: capacity level, unit, baseline, target, direction, means
    of verification, measurement frequency. Progress towards the target is computed from
    the latest measurement (``progress`` 0 at the baseline, 1 at the target)."""

    action = VisibleId(_visible_actions)
    level = serializers.ChoiceField(choices=CbLevel.choices)
    objective = serializers.IntegerField(
        source="objective_id",
        required=False,
        allow_null=True,
        help_text="One of the action's objectives (id), or null.",
    )
    unit = serializers.ChoiceField(choices=Unit.choices)
    direction = serializers.ChoiceField(choices=Direction.choices, required=False)
    frequency = serializers.ChoiceField(choices=Frequency.choices, required=False)
    next_due = serializers.SerializerMethodField()
    measurements = IndicatorMeasurementSerializer(many=True, read_only=True)

    class Meta:
        model = Indicator
        fields = [
            "id",
            "action",
            "level",
            "objective",
            "name",
            "unit",
            "baseline",
            "target",
            "direction",
            "means_of_verification",
            "frequency",
            "latest_value",
            "latest_date",
            "progress",
            "progress_status",
            "next_due",
            "measurements",
            "created_at",
        ]
        read_only_fields = [
            "id",
            "latest_value",
            "latest_date",
            "progress",
            "progress_status",
            "created_at",
        ]
        extra_kwargs = {"means_of_verification": {"required": False}}

    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_next_due(self, obj: Indicator) -> date | None:
        return obj.next_due()


# --- outcomes -----------------------------------------------------------------------------


class OutcomeSerializer(StrictModelSerializer):
    """An observed change at one capacity level, with its evidence."""

    action = VisibleId(_visible_actions)
    level = serializers.ChoiceField(choices=CbLevel.choices)
    evidence_url = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        help_text="A link to the evidence (http:// or https://).",
    )
    evidence_file = EvidenceFileField("evaluations:outcome-evidence")
    recorded_by = serializers.SerializerMethodField()

    class Meta:
        model = Outcome
        fields = [
            "id",
            "action",
            "level",
            "description",
            "evidence",
            "date",
            "evidence_url",
            "evidence_file",
            "evidence_name",
            "recorded_by",
            "recorded_at",
        ]
        read_only_fields = ["id", "evidence_name", "recorded_at"]
        extra_kwargs = {"evidence": {"required": False}}

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_recorded_by(self, obj: Outcome) -> str | None:
        return _display_name(obj.recorded_by)


# --- feedback -----------------------------------------------------------------------------


class FeedbackSerializer(StrictModelSerializer):
    """Satisfaction (1–5) and comments about an activity. Signed-in partner focal points
    give their own here, once per activity; participants answer through feedback links."""

    activity = VisibleId(_visible_activities)
    action = serializers.IntegerField(source="activity.action_id", read_only=True)
    satisfaction = serializers.IntegerField(
        help_text="1 (very dissatisfied) to 5 (very satisfied)."
    )
    comments = serializers.CharField(required=False, allow_blank=True)

    class Meta:
        model = Feedback
        fields = [
            "id",
            "activity",
            "action",
            "respondent",
            "satisfaction",
            "comments",
            "submitted_at",
        ]
        read_only_fields = ["id", "respondent", "submitted_at"]
        validators: list[Any] = []  # one answer per person: the service says so (409)


class FeedbackLinkSerializer(serializers.ModelSerializer):
    """A one-response link for a participant (no account needed)."""

    activity = serializers.IntegerField(source="activity_id", read_only=True)
    action = serializers.IntegerField(source="activity.action_id", read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = FeedbackLink
        fields = ["id", "activity", "action", "token", "respondent", "url", "created_at", "used_at"]
        read_only_fields = fields

    def get_url(self, obj: FeedbackLink) -> str:
        """The public address of the feedback form, to share with the participant."""
        path = obj.get_absolute_url()
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class FeedbackLinksCreateSerializer(StrictSerializer):
    activity = VisibleId(_visible_activities)
    count = serializers.IntegerField(help_text="How many links to make (one per participant).")


# --- final evaluation ---------------------------------------------------------------------


class RecommendationSerializer(serializers.ModelSerializer):
    follow_up_request = serializers.IntegerField(
        source="follow_up_request_id",
        read_only=True,
        allow_null=True,
        help_text="The draft request staff opened from this recommendation, if any.",
    )

    class Meta:
        model = Recommendation
        fields = ["id", "text", "follow_up_request"]
        read_only_fields = fields


RATING_HELP = "1 (unsatisfactory) to 4 (highly satisfactory)."
EVALUATION_TEXTS = [
    *(f"{name}_justification" for name, _label in DAC_CRITERIA),
    "findings",
    "lessons",
]


class EvaluationSerializer(serializers.ModelSerializer):
    """The final evaluation of an action: the six OECD-DAC criteria rated 1–4 with a
    justification each, findings, lessons learned and recommendations."""

    action = serializers.IntegerField(source="action_id", read_only=True)
    recommendations = RecommendationSerializer(many=True, read_only=True)
    submitted_by = serializers.SerializerMethodField()
    allowed_transitions = AllowedTransitionsField(EVALUATION_WORKFLOW)

    class Meta:
        model = FinalEvaluation
        fields = [
            "id",
            "action",
            *(name for name, _label in DAC_CRITERIA),
            *EVALUATION_TEXTS,
            "recommendations",
            "status",
            "submitted_at",
            "submitted_by",
            "created_at",
            "updated_at",
            "allowed_transitions",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_submitted_by(self, obj: FinalEvaluation) -> str | None:
        return _display_name(obj.submitted_by)


class EvaluationWriteSerializer(StrictSerializer):
    """What the assigned evaluator writes (``action`` only when starting the draft). A
    change of ``recommendations`` replaces the whole list."""

    action = VisibleId(_visible_actions)
    relevance = serializers.IntegerField(required=False, allow_null=True, help_text=RATING_HELP)
    coherence = serializers.IntegerField(required=False, allow_null=True, help_text=RATING_HELP)
    effectiveness = serializers.IntegerField(required=False, allow_null=True, help_text=RATING_HELP)
    efficiency = serializers.IntegerField(required=False, allow_null=True, help_text=RATING_HELP)
    impact = serializers.IntegerField(required=False, allow_null=True, help_text=RATING_HELP)
    sustainability = serializers.IntegerField(
        required=False, allow_null=True, help_text=RATING_HELP
    )
    relevance_justification = serializers.CharField(required=False, allow_blank=True)
    coherence_justification = serializers.CharField(required=False, allow_blank=True)
    effectiveness_justification = serializers.CharField(required=False, allow_blank=True)
    efficiency_justification = serializers.CharField(required=False, allow_blank=True)
    impact_justification = serializers.CharField(required=False, allow_blank=True)
    sustainability_justification = serializers.CharField(required=False, allow_blank=True)
    findings = serializers.CharField(required=False, allow_blank=True)
    lessons = serializers.CharField(required=False, allow_blank=True)
    recommendations = serializers.ListField(
        child=serializers.CharField(allow_blank=True, max_length=5000),
        required=False,
        help_text="One string per recommendation (at most 50); replaces the list.",
    )


class FollowUpSerializer(serializers.Serializer):
    request = serializers.IntegerField(help_text="The new draft request.")
    reference = serializers.CharField(
        allow_null=True, help_text="Null until the partner submits the draft."
    )
    url = serializers.CharField(help_text="The request in the API.")
