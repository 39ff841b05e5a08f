"""The public portfolio as read-only JSON (``/api/v1/public/actions/``): no authentication,
no session and no CSRF, throttled per address by the anonymous throttle. The facts and the
filters are the page's (evaluations/public.py); nothing personal is serialised."""

from __future__ import annotations

from typing import Any

from django import forms
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.filters import OrderingFilter
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from actions.models import Action, ActionStatus, ActivityStatus, ActivityType, Modality
from cbportal.accounts.models import Region
from cbportal.core.rate_limits import AnonRateThrottle
from evaluations import public
from experts.models import AdministrationType

# Activity types and statuses are plain strings here: the same choice sets as enums in a
# second place would rename the activities collection's enums in the OpenAPI schema.
ACTIVITY_TYPE_HELP = "As in `/api/v1/activities/`: `" + "`, `".join(ActivityType.values) + "`."
PUBLIC_STATUS_CHOICES = [(s, dict(ActionStatus.choices)[s]) for s in public.PUBLIC_STATUSES]


class PublicCountrySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="ISO 3166-1 alpha-2 code.")
    name = serializers.CharField(source="display_name", help_text="In the request's language.")
    region = serializers.ChoiceField(choices=Region.choices)
    region_label = serializers.CharField(source="get_region_display")


class PublicPartnerSerializer(serializers.Serializer):
    """The partner authority (an institution, not a person)."""

    name = serializers.CharField()
    acronym = serializers.CharField()


class PublicThematicAreaSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField(source="display_name", help_text="In the request's language.")


class PublicGcmObjectiveSerializer(serializers.Serializer):
    number = serializers.IntegerField(min_value=1, max_value=23)
    title = serializers.CharField(source="display_title", help_text="In the request's language.")


class PublicActivityTypeCountSerializer(serializers.Serializer):
    type = serializers.CharField(help_text=ACTIVITY_TYPE_HELP)
    type_label = serializers.CharField(source="label")
    count = serializers.IntegerField()


class PublicOriginCountSerializer(serializers.Serializer):
    origin = serializers.ChoiceField(
        choices=AdministrationType.choices,
        help_text="The kind of administration experts come from.",
    )
    origin_label = serializers.CharField(source="label")
    count = serializers.IntegerField(
        help_text="Distinct experts with a confirmed or completed deployment."
    )


class PublicActivitySerializer(serializers.Serializer):
    type = serializers.CharField(help_text=ACTIVITY_TYPE_HELP)
    type_label = serializers.CharField(source="get_type_display")
    modality = serializers.ChoiceField(choices=Modality.choices)
    modality_label = serializers.CharField(source="get_modality_display")
    country = PublicCountrySerializer(allow_null=True)
    city = serializers.CharField()
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    status = serializers.CharField(
        help_text="`" + "`, `".join(ActivityStatus.values) + "` (cancelled ones are left out)."
    )
    status_label = serializers.CharField(source="get_status_display")
    expected_participants = serializers.IntegerField()
    participants_women = serializers.IntegerField()
    participants_men = serializers.IntegerField()
    participants_other = serializers.IntegerField(help_text="Other or not stated.")


class PublicActionSerializer(serializers.Serializer):
    reference = serializers.CharField()
    title = serializers.CharField()
    summary = serializers.CharField(help_text="The public summary.")
    partner = PublicPartnerSerializer(source="organisation")
    country = PublicCountrySerializer()
    thematic_areas = PublicThematicAreaSerializer(many=True, source="thematic_areas.all")
    gcm_objectives = PublicGcmObjectiveSerializer(many=True, source="gcm_objectives.all")
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    status = serializers.ChoiceField(choices=PUBLIC_STATUS_CHOICES)
    status_label = serializers.CharField(source="get_status_display")
    activity_types = PublicActivityTypeCountSerializer(
        many=True, help_text="Distinct types of the action's activities with their counts."
    )
    experts_by_origin = PublicOriginCountSerializer(many=True)
    experts_total = serializers.IntegerField()
    dac_average = serializers.SerializerMethodField(
        help_text="Mean of the six OECD-DAC ratings (1–4) of a closed action's submitted "
        "final evaluation; null otherwise."
    )
    activities = PublicActivitySerializer(
        many=True, source="public_activities", help_text="Cancelled activities are left out."
    )
    url = serializers.SerializerMethodField(help_text="The action's public page.")

    def get_dac_average(self, action: Action) -> float | None:
        value = getattr(action, "dac_average", None)
        return None if value is None else round(float(value), 2)

    def get_url(self, action: Action) -> str:
        from django.urls import reverse

        path = reverse("portfolio:detail", args=[action.reference])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class IntegerFilter(filters.NumberFilter):
    field_class = forms.IntegerField


class PublicActionFilter(filters.FilterSet):
    """The page's filters under the same names; evaluations/public.py applies them."""

    search = filters.CharFilter(
        max_length=200, help_text="Words in the reference, title or public summary."
    )
    country = filters.CharFilter(max_length=2, help_text="ISO 3166-1 alpha-2 code.")
    region = filters.ChoiceFilter(choices=Region.choices)
    thematic_area = filters.CharFilter(max_length=80, help_text="Thematic area slug.")
    gcm_objective = IntegerFilter(min_value=1, max_value=23, help_text="GCM objective number.")
    activity_type = filters.ChoiceFilter(
        choices=ActivityType.choices, help_text="Actions with at least one such activity."
    )
    status = filters.ChoiceFilter(choices=PUBLIC_STATUS_CHOICES)
    year = IntegerFilter(
        min_value=1900, max_value=2200, help_text="Actions running at some point of that year."
    )

    def filter_queryset(self, queryset: Any) -> Any:
        return public.filter_actions(
            queryset, public.PortfolioFilters.from_data(self.form.cleaned_data)
        )


DESCRIPTION = (
    "Published actions (the partner agreed, the plan is approved; never in design, proposed "
    "or cancelled), with institutional facts and aggregates only. No authentication."
)


@extend_schema_view(
    list=extend_schema(tags=["public"], auth=[], description=DESCRIPTION),
    retrieve=extend_schema(
        tags=["public"],
        auth=[],
        description="One published action by reference, with its activities; 404 otherwise.",
    ),
)
class PublicActionViewSet(viewsets.ReadOnlyModelViewSet):
    """The public portfolio: actions whose partner agreed to publish them."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [AnonRateThrottle]
    filter_backends = [filters.DjangoFilterBackend, OrderingFilter]
    filterset_class = PublicActionFilter
    ordering_fields = ["start_date", "end_date", "reference"]
    lookup_field = "reference"
    lookup_value_regex = "[^/]+"
    serializer_class = PublicActionSerializer
    queryset = Action.objects.none()

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Action.objects.none()
        return public.with_public_activities(public.public_action_list())

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = public.attach_public_facts(page if page is not None else queryset)
        data = self.get_serializer(rows, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def get_object(self) -> Action:
        # NotFound (404 in the API's error shape) for anything unpublished.
        return public.public_action_detail(self.kwargs[self.lookup_field])
