from __future__ import annotations

from typing import Any

from rest_framework import serializers

from actions.models import (
    Action,
    ActivityStatus,
    ActivityType,
    Amendment,
    AmendmentReason,
    Modality,
    Objective,
    OriginPreference,
)
from actions.workflow import ACTION_WORKFLOW, AMENDMENT_WORKFLOW
from cbportal.accounts.models import Country, Role, User
from cbportal.core.api.serializers import StrictModelSerializer, StrictSerializer
from cbportal.core.api.transitions import AllowedTransitionsField
from cbportal.core.models import GcmObjective, Language, ThematicArea


class ObjectiveInputSerializer(StrictSerializer):
    id = serializers.IntegerField(
        required=False, help_text="An existing objective to keep or change."
    )
    text = serializers.CharField()
    gaps = serializers.ListField(child=serializers.IntegerField(), allow_empty=False)


class ObjectiveSerializer(serializers.ModelSerializer):
    class Meta:
        model = Objective
        fields = ["id", "text", "gaps"]
        read_only_fields = fields


class ActionSerializer(StrictModelSerializer):
    assessment = serializers.IntegerField(source="assessment_id")
    request = serializers.IntegerField(source="request_id", read_only=True)
    organisation = serializers.IntegerField(source="organisation_id", read_only=True)
    country = serializers.CharField(source="country_id", read_only=True)
    thematic_areas = serializers.SlugRelatedField(
        slug_field="slug",
        many=True,
        queryset=ThematicArea.objects.filter(is_active=True),
        required=False,
    )
    gcm_objectives = serializers.PrimaryKeyRelatedField(
        many=True, queryset=GcmObjective.objects.all(), required=False
    )
    evaluators = serializers.PrimaryKeyRelatedField(
        many=True, queryset=User.objects.filter(role=Role.EVALUATOR, is_active=True), required=False
    )
    objectives = ObjectiveInputSerializer(many=True, required=False, write_only=True)
    objective_list = ObjectiveSerializer(source="objectives", many=True, read_only=True)
    allowed_transitions = AllowedTransitionsField(ACTION_WORKFLOW)

    class Meta:
        model = Action
        fields = [
            "id",
            "reference",
            "assessment",
            "request",
            "organisation",
            "country",
            "title",
            "summary",
            "publish",
            "start_date",
            "end_date",
            "thematic_areas",
            "gcm_objectives",
            "evaluators",
            "objectives",
            "objective_list",
            "status",
            "approved_at",
            "signed_name",
            "signed_at",
            "started_at",
            "completed_at",
            "closed_at",
            "created_at",
            "allowed_transitions",
        ]
        read_only_fields = [
            "id",
            "reference",
            "status",
            "approved_at",
            "signed_name",
            "signed_at",
            "started_at",
            "completed_at",
            "closed_at",
            "created_at",
        ]
        extra_kwargs = {
            "title": {"required": False},
            "start_date": {"required": False},
            "end_date": {"required": False},
        }


class ActivitySerializer(StrictSerializer):
    id = serializers.IntegerField(read_only=True)
    action = serializers.IntegerField(source="action_id")
    type = serializers.ChoiceField(choices=ActivityType.choices)
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    modality = serializers.ChoiceField(choices=Modality.choices)
    country = serializers.SlugRelatedField(
        slug_field="code", queryset=Country.objects.all(), required=False, allow_null=True
    )
    city = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    expected_participants = serializers.IntegerField(min_value=0, default=0)
    participants_women = serializers.IntegerField(min_value=0, default=0)
    participants_men = serializers.IntegerField(min_value=0, default=0)
    participants_other = serializers.IntegerField(min_value=0, default=0)
    status = serializers.ChoiceField(choices=ActivityStatus.choices, default=ActivityStatus.PLANNED)
    objectives = serializers.ListField(
        child=serializers.IntegerField(), required=False, default=list
    )

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = {
            name: getattr(instance, name)
            for name in (
                "id",
                "type",
                "title",
                "description",
                "modality",
                "city",
                "expected_participants",
                "participants_women",
                "participants_men",
                "participants_other",
                "status",
            )
        }
        data.update(
            action=instance.action_id,
            start_date=instance.start_date.isoformat(),
            end_date=instance.end_date.isoformat(),
            country=instance.country_id,
            objectives=sorted(o.pk for o in instance.objectives.all()),
        )
        return data


class ExpertiseNeedSerializer(StrictSerializer):
    id = serializers.IntegerField(read_only=True)
    activity = serializers.IntegerField(source="activity_id")
    thematic_area = serializers.SlugRelatedField(
        slug_field="slug", queryset=ThematicArea.objects.filter(is_active=True)
    )
    skills = serializers.ListField(
        child=serializers.CharField(max_length=80), required=False, default=list
    )
    languages = serializers.SlugRelatedField(
        slug_field="code", many=True, queryset=Language.objects.all(), required=False
    )
    experts_needed = serializers.IntegerField(min_value=1, max_value=1000)
    expert_days = serializers.IntegerField(min_value=1, max_value=10000)
    origin_preference = serializers.ChoiceField(
        choices=OriginPreference.choices, default=OriginPreference.ANY
    )
    notes = serializers.CharField(required=False, allow_blank=True, default="")

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return {
            "id": instance.pk,
            "activity": instance.activity_id,
            "thematic_area": instance.thematic_area.slug,
            "skills": sorted(s.name for s in instance.skills.all()),
            "languages": sorted(lang.code for lang in instance.languages.all()),
            "experts_needed": instance.experts_needed,
            "expert_days": instance.expert_days,
            "origin_preference": instance.origin_preference,
            "notes": instance.notes,
        }


class AmendmentSerializer(StrictModelSerializer):
    action = serializers.IntegerField(source="action_id", read_only=True)
    reason_category = serializers.ChoiceField(choices=AmendmentReason.choices)
    changes = serializers.SerializerMethodField()
    allowed_transitions = AllowedTransitionsField(AMENDMENT_WORKFLOW)

    class Meta:
        model = Amendment
        fields = [
            "id",
            "action",
            "number",
            "status",
            "reason_category",
            "reason",
            "requested_by",
            "proposal",
            "changes",
            "signed_name",
            "created_at",
            "approved_at",
            "applied_at",
            "allowed_transitions",
        ]
        read_only_fields = [
            "id",
            "number",
            "status",
            "signed_name",
            "created_at",
            "approved_at",
            "applied_at",
        ]
        extra_kwargs = {"proposal": {"required": False}}

    def get_changes(self, obj: Amendment) -> list[dict[str, str]]:
        from actions import plan

        return plan.diff(obj.before, obj.proposal)
