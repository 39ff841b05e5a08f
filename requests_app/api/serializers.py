from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cbportal.accounts.models import Country
from cbportal.core.api.serializers import StrictModelSerializer, StrictSerializer
from cbportal.core.api.transitions import AllowedTransitionsField
from cbportal.core.models import GcmObjective, Language, ThematicArea
from requests_app import sla
from requests_app.models import (
    AssessmentMethod,
    AssistanceRequest,
    AttachmentKind,
    CapacityGap,
    CbLevel,
    NeedsAssessment,
    Priority,
    RequestAttachment,
    RequestMessage,
)
from requests_app.workflow import ASSESSMENT_WORKFLOW, REQUEST_WORKFLOW


class MessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = RequestMessage
        fields = ["id", "kind", "author_name", "text", "created_at"]
        read_only_fields = fields


class AttachmentSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = RequestAttachment
        fields = [
            "id",
            "kind",
            "original_name",
            "content_type",
            "size",
            "uploaded_at",
            "download_url",
        ]
        read_only_fields = fields

    def get_download_url(self, obj: RequestAttachment) -> str:
        return f"/api/v1/requests/{obj.request_id}/attachments/{obj.pk}/"


class AttachmentUploadSerializer(StrictSerializer):
    file = serializers.FileField()
    kind = serializers.ChoiceField(
        choices=AttachmentKind.choices, default=AttachmentKind.BACKGROUND
    )


class RequestSerializer(StrictModelSerializer):
    country = serializers.SlugRelatedField(
        slug_field="code", queryset=Country.objects.all(), required=False
    )
    thematic_areas = serializers.SlugRelatedField(
        slug_field="slug",
        many=True,
        queryset=ThematicArea.objects.filter(is_active=True),
        required=False,
    )
    gcm_objectives = serializers.PrimaryKeyRelatedField(
        many=True, queryset=GcmObjective.objects.all(), required=False
    )
    languages = serializers.SlugRelatedField(
        slug_field="code", many=True, queryset=Language.objects.all(), required=False
    )
    organisation = serializers.IntegerField(source="organisation_id", read_only=True)
    case_officer = serializers.IntegerField(
        source="case_officer_id", read_only=True, allow_null=True
    )
    sla_state = serializers.SerializerMethodField()
    allowed_transitions = AllowedTransitionsField(REQUEST_WORKFLOW)

    class Meta:
        model = AssistanceRequest
        fields = [
            "id",
            "reference",
            "organisation",
            "country",
            "title",
            "problem_statement",
            "expected_outcomes",
            "target_institutions",
            "thematic_areas",
            "gcm_objectives",
            "preferred_start",
            "preferred_end",
            "languages",
            "status",
            "case_officer",
            "decision_reason",
            "created_at",
            "submitted_at",
            "first_response_at",
            "first_response_due_at",
            "decided_at",
            "decision_due_at",
            "sla_state",
            "allowed_transitions",
        ]
        read_only_fields = [
            "id",
            "reference",
            "status",
            "decision_reason",
            "created_at",
            "submitted_at",
            "first_response_at",
            "first_response_due_at",
            "decided_at",
            "decision_due_at",
        ]
        extra_kwargs = {"title": {"required": False}}

    # None while no target runs (a draft, a decided request): the schema must say so.
    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_sla_state(self, obj: AssistanceRequest) -> str | None:
        current = sla.triage_sla(obj)
        return current.state if current else None


class RequestDetailSerializer(RequestSerializer):
    messages = MessageSerializer(many=True, read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta(RequestSerializer.Meta):
        fields = [*RequestSerializer.Meta.fields, "messages", "attachments"]


class GapSerializer(StrictModelSerializer):
    id = serializers.IntegerField(required=False)
    level = serializers.ChoiceField(choices=CbLevel.choices)
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.MEDIUM)

    class Meta:
        model = CapacityGap
        fields = ["id", "level", "description", "baseline", "target", "priority"]


class AssessmentSerializer(StrictModelSerializer):
    request = serializers.IntegerField(source="request_id", read_only=True)
    reference = serializers.CharField(source="request.reference", read_only=True)
    owner = serializers.IntegerField(source="owner_id", read_only=True)
    methods = serializers.ListField(
        child=serializers.ChoiceField(choices=AssessmentMethod.choices), required=False
    )
    gaps = GapSerializer(many=True, required=False)
    allowed_transitions = AllowedTransitionsField(ASSESSMENT_WORKFLOW)

    class Meta:
        model = NeedsAssessment
        fields = [
            "id",
            "request",
            "reference",
            "owner",
            "status",
            "summary",
            "methods",
            "methods_other",
            "stakeholders_consulted",
            "gaps",
            "created_at",
            "shared_at",
            "validated_at",
            "allowed_transitions",
        ]
        read_only_fields = ["id", "status", "created_at", "shared_at", "validated_at"]
