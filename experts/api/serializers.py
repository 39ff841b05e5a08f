"""Serializers of the roster, deployments, mission reports and matching API.

They check the shape and types of what clients send; what the input means (a CEFR level
spoken in a known language, an expert who may be invited, dates that fit the activity) is
checked by ``experts.services``, which pages share.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from actions import selectors as action_selectors
from actions.models import ExpertiseNeed
from cbportal.accounts.models import Country, Organisation, User
from cbportal.accounts.permissions import is_staff
from cbportal.core.api.serializers import (
    StrictModelSerializer,
    StrictSerializer,
    TransitionInputSerializer,
)
from cbportal.core.api.transitions import AllowedTransitionsField
from cbportal.core.models import ThematicArea
from experts import selectors
from experts.matching import COMPONENTS
from experts.models import (
    AdministrationType,
    CefrLevel,
    Deployment,
    Expert,
    ExpertLanguage,
    MatchJob,
    MatchJobStatus,
    MissionReport,
    ReportAttachment,
    Unavailability,
)
from experts.workflow import DEPLOYMENT_WORKFLOW, VETTING_WORKFLOW

# --- experts ------------------------------------------------------------------------------


class ExpertLanguageSerializer(StrictSerializer):
    """One language the expert speaks: ISO 639-1 ``code`` and CEFR ``level``."""

    code = serializers.CharField(max_length=2, help_text="ISO 639-1 code, e.g. `fr`.")
    level = serializers.ChoiceField(choices=CefrLevel.choices)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        if isinstance(instance, ExpertLanguage):
            return {"code": instance.language_id, "level": instance.level}
        return {"code": instance["code"], "level": instance["level"]}


class SkillNamesField(serializers.ListField):
    """Skills as a list of names (free tags shared with expertise needs)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.CharField(max_length=80), **kwargs)

    def to_representation(self, data: Any) -> list[str]:
        items = data.all() if hasattr(data, "all") else data
        return sorted(getattr(s, "name", s) for s in items)


class ExpertSerializer(StrictModelSerializer):
    """A roster profile. ``is_active`` and ``user`` are changed by staff only (the service
    refuses them from anyone else with 403)."""

    user = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(),
        required=False,
        allow_null=True,
        help_text="Staff: the expert's CB Portal account (a user with the expert role).",
    )
    organisation = serializers.PrimaryKeyRelatedField(
        queryset=Organisation.objects.all(), required=False, allow_null=True
    )
    administration_type = serializers.ChoiceField(choices=AdministrationType.choices)
    nationality = serializers.SlugRelatedField(
        slug_field="code", queryset=Country.objects.all(), required=False, allow_null=True
    )
    residence = serializers.SlugRelatedField(
        slug_field="code", queryset=Country.objects.all(), required=False, allow_null=True
    )
    languages = ExpertLanguageSerializer(many=True, required=False)
    thematic_areas = serializers.SlugRelatedField(
        slug_field="slug",
        many=True,
        queryset=ThematicArea.objects.filter(is_active=True),
        required=False,
    )
    skills = SkillNamesField(required=False)
    countries_of_experience = serializers.SlugRelatedField(
        slug_field="code", many=True, queryset=Country.objects.all(), required=False
    )
    average_rating = serializers.FloatField(read_only=True, allow_null=True)
    has_cv = serializers.SerializerMethodField()
    cv_url = serializers.SerializerMethodField()
    allowed_transitions = AllowedTransitionsField(VETTING_WORKFLOW)

    class Meta:
        model = Expert
        fields = [
            "id",
            "user",
            "full_name",
            "email",
            "phone",
            "home_institution",
            "organisation",
            "administration_type",
            "nationality",
            "residence",
            "languages",
            "thematic_areas",
            "skills",
            "countries_of_experience",
            "years_experience",
            "biography",
            "consent_contact",
            "consent_retention",
            "consent_at",
            "share_contact",
            "is_active",
            "vetting_status",
            "vetting_note",
            "vetted_at",
            "average_rating",
            "rating_count",
            "has_cv",
            "cv_url",
            "deletion_requested_at",
            "anonymised_at",
            "created_at",
            "allowed_transitions",
        ]
        read_only_fields = [
            "id",
            "consent_at",
            "vetting_status",
            "vetting_note",
            "vetted_at",
            "rating_count",
            "deletion_requested_at",
            "anonymised_at",
            "created_at",
        ]
        extra_kwargs = {"full_name": {"required": False}}

    def get_has_cv(self, obj: Expert) -> bool:
        return bool(obj.cv)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_cv_url(self, obj: Expert) -> str | None:
        return reverse("api:expert-cv", args=[obj.pk]) if obj.cv else None


class CvUploadSerializer(StrictSerializer):
    file = serializers.FileField(help_text="PDF, DOCX or ODT, checked by content.")


class UnavailabilitySerializer(StrictModelSerializer):
    class Meta:
        model = Unavailability
        fields = ["id", "start_date", "end_date", "note"]
        read_only_fields = ["id"]


class UnavailabilityAddedSerializer(UnavailabilitySerializer):
    merged = serializers.IntegerField(
        read_only=True,
        help_text="How many existing periods overlapped or touched the new one and were "
        "merged into it (0: a new period).",
    )

    class Meta(UnavailabilitySerializer.Meta):
        fields = [*UnavailabilitySerializer.Meta.fields, "merged"]


# --- deployments --------------------------------------------------------------------------


class VisibleRelatedField(serializers.PrimaryKeyRelatedField):
    """An object named by id among those the requesting user may see: anything else "does
    not exist" (400 on the field), as it would answer 404 on its own URL."""

    def __init__(self, visible: Callable[[Any], QuerySet[Any]], **kwargs: Any) -> None:
        self.visible = visible
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        request = self.context.get("request")
        return self.visible(request.user) if request is not None else self.visible(None)


def _visible_needs(user: Any) -> QuerySet[ExpertiseNeed]:
    if user is None:
        return ExpertiseNeed.objects.none()
    return action_selectors.needs_for(user)


def _visible_experts(user: Any) -> QuerySet[Expert]:
    if user is None:
        return Expert.objects.none()
    return selectors.experts_for(user).filter(anonymised_at__isnull=True)


class DeploymentSerializer(StrictModelSerializer):
    """A deployment of an expert on an expertise need. Staff create one (the shortlist)
    with ``expertise_need`` and ``expert``; everything else moves by transitions."""

    expertise_need = VisibleRelatedField(_visible_needs, source="need")
    expert = VisibleRelatedField(_visible_experts)
    expert_name = serializers.CharField(source="expert.full_name", read_only=True)
    action = serializers.IntegerField(source="need.activity.action_id", read_only=True)
    activity = serializers.IntegerField(source="need.activity_id", read_only=True)
    has_report = serializers.SerializerMethodField()
    allowed_transitions = AllowedTransitionsField(DEPLOYMENT_WORKFLOW)

    class Meta:
        model = Deployment
        fields = [
            "id",
            "expertise_need",
            "expert",
            "expert_name",
            "action",
            "activity",
            "status",
            "score",
            "invited_at",
            "expires_at",
            "responded_at",
            "decline_reason",
            "start_date",
            "end_date",
            "expert_days",
            "rating",
            "has_report",
            "cancel_reason",
            "created_at",
            "allowed_transitions",
        ]
        read_only_fields = [
            "id",
            "status",
            "score",
            "invited_at",
            "expires_at",
            "responded_at",
            "decline_reason",
            "start_date",
            "end_date",
            "expert_days",
            "rating",
            "cancel_reason",
            "created_at",
        ]
        # Shortlisting an expert again returns their deployment (the service decides).
        validators: list[Any] = []

    def get_has_report(self, obj: Deployment) -> bool:
        return hasattr(obj, "report")

    def to_representation(self, instance: Deployment) -> dict[str, Any]:
        data = super().to_representation(instance)
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is not None and not is_staff(user):
            # The match score is staff's working tool; the rating is staff's assessment of
            # the mission, which the expert may read (it is their data) but the partner not.
            data["score"] = None
            if getattr(user, "role", "") != "expert":
                data["rating"] = None
        return data


class ConfirmInputSerializer(TransitionInputSerializer):
    """``confirm``: the mission dates (default: the activity's) and expert-days (default:
    the need's)."""

    start_date = serializers.DateField(required=False)
    end_date = serializers.DateField(required=False)
    expert_days = serializers.IntegerField(required=False, min_value=1, max_value=10000)


class RateInputSerializer(StrictSerializer):
    rating = serializers.IntegerField(min_value=1, max_value=5)
    note = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class ReportAttachmentSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ReportAttachment
        fields = ["id", "original_name", "content_type", "size", "uploaded_at", "download_url"]
        read_only_fields = fields

    def get_download_url(self, obj: ReportAttachment) -> str:
        return reverse("api:deployment-report-attachment", args=[obj.report.deployment_id, obj.pk])


class MissionReportInputSerializer(StrictSerializer):
    summary = serializers.CharField()
    outputs = serializers.CharField()
    recommendations = serializers.CharField()
    days_worked = serializers.IntegerField(min_value=1, max_value=10000)
    attachments = serializers.ListField(
        child=serializers.FileField(),
        required=False,
        default=list,
        help_text="Optional files (multipart/form-data): PDF, DOCX, XLSX, ODT, PNG or JPEG.",
    )


class MissionReportSerializer(serializers.ModelSerializer):
    deployment = serializers.IntegerField(source="deployment_id", read_only=True)
    attachments = ReportAttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = MissionReport
        fields = [
            "deployment",
            "summary",
            "outputs",
            "recommendations",
            "days_worked",
            "submitted_at",
            "updated_at",
            "attachments",
        ]
        read_only_fields = fields


# --- matching -----------------------------------------------------------------------------


class MatchQueuedSerializer(serializers.Serializer):
    job = serializers.IntegerField()
    status = serializers.ChoiceField(choices=MatchJobStatus.choices)
    url = serializers.CharField(help_text="Where to follow the job.")


class MatchJobSerializer(serializers.ModelSerializer):
    expertise_need = serializers.IntegerField(source="need_id", read_only=True)
    requested_by = serializers.IntegerField(
        source="requested_by_id", read_only=True, allow_null=True
    )
    exclusions = serializers.DictField(
        child=serializers.IntegerField(),
        read_only=True,
        help_text="Hard exclusions counted by reason (each expert under the first reason "
        "that excludes them).",
    )
    weights = serializers.DictField(child=serializers.FloatField(), read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = MatchJob
        fields = [
            "id",
            "expertise_need",
            "status",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "duration_ms",
            "roster_size",
            "candidates",
            "exclusions",
            "weights",
            "error",
            "url",
        ]
        read_only_fields = fields

    def get_url(self, obj: MatchJob) -> str:
        return reverse("api:match-job", args=[obj.pk])


class MatchComponentSerializer(serializers.Serializer):
    score = serializers.FloatField(help_text="0 to 1.")
    facts = serializers.DictField(help_text="The facts behind the score.")


class MatchComponentsSerializer(serializers.Serializer):
    """One entry per component of ``experts.matching.COMPONENTS``."""

    thematic = MatchComponentSerializer()
    skills = MatchComponentSerializer()
    experience = MatchComponentSerializer()
    origin = MatchComponentSerializer()
    track_record = MatchComponentSerializer()
    workload = MatchComponentSerializer()


class MatchResultSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    expert = serializers.IntegerField(source="expert_id")
    expert_name = serializers.CharField(source="expert.full_name")
    nationality = serializers.CharField(source="expert.nationality_id", allow_null=True)
    administration_type = serializers.CharField(source="expert.administration_type")
    score = serializers.FloatField(help_text="Weighted total, 0 to 100.")
    components = serializers.SerializerMethodField()
    deployment = serializers.SerializerMethodField()
    deployment_status = serializers.SerializerMethodField()

    @extend_schema_field(MatchComponentsSerializer)
    def get_components(self, obj: Any) -> dict[str, Any]:
        return {
            name: {
                "score": obj.components.get(name),
                "facts": obj.explanation.get(name, {}),
            }
            for name in COMPONENTS
        }

    def _deployment(self, obj: Any) -> Deployment | None:
        deployments: dict[int, Deployment] = self.context.get("deployments", {})
        return deployments.get(obj.expert_id)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_deployment(self, obj: Any) -> int | None:
        deployment = self._deployment(obj)
        return deployment.pk if deployment else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_deployment_status(self, obj: Any) -> str | None:
        deployment = self._deployment(obj)
        return deployment.status if deployment else None


class MatchListSerializer(serializers.Serializer):
    expertise_need = serializers.IntegerField()
    job = MatchJobSerializer(allow_null=True, help_text="The latest matching run, if any.")
    results_job = serializers.IntegerField(
        allow_null=True, help_text="The run that produced the stored shortlist below."
    )
    results = MatchResultSerializer(many=True)
