"""``GET /api/v1/reports/portfolio/``: the portfolio dashboard's figures (staff only).

The view checks the filters with the dashboard's own form and returns exactly what
``evaluations.dashboard.portfolio_report`` computes — the page shows the same dict. The
serializers below only document that dict in the OpenAPI schema.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.utils.http import http_date
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import exceptions, serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from cbportal.accounts.models import Region
from cbportal.accounts.permissions import is_staff
from cbportal.core.api.permissions import IsAuthenticatedAndVerified
from evaluations.dashboard import MAX_MONTHS, PortfolioFilterForm, cached_portfolio_report


class IsProgrammeStaff(BasePermission):
    message = _("Only programme staff see the portfolio report.")

    def has_permission(self, request: Any, view: Any) -> bool:
        return is_staff(request.user)


def form_errors(form: PortfolioFilterForm) -> exceptions.ValidationError:
    """The form's errors as the API's 400 (one entry per field, the form's codes kept)."""
    detail: dict[str, list[ErrorDetail]] = {}
    for field, errors in form.errors.as_data().items():
        key = api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field
        detail[key] = [
            ErrorDetail(message, code=error.code or "invalid")
            for error in errors
            for message in error.messages
        ]
    return exceptions.ValidationError(detail)


# --- the documented shape ----------------------------------------------------------------------


class PortfolioFiltersSerializer(serializers.Serializer):
    from_ = serializers.DateField(help_text="First day of the period (included).")
    to = serializers.DateField(help_text="Last day of the period (included).")
    region = serializers.CharField(allow_null=True)
    country = serializers.CharField(allow_null=True, help_text="ISO 3166-1 alpha-2 code.")
    thematic_area = serializers.CharField(allow_null=True, help_text="Thematic area slug.")
    gcm_objective = serializers.IntegerField(allow_null=True, min_value=1, max_value=23)

    def get_fields(self) -> dict[str, Any]:
        # "from" is a Python keyword: declared as ``from_``, named as the query parameter.
        fields = super().get_fields()
        return {("from" if name == "from_" else name): f for name, f in fields.items()}


class PortfolioBucketSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField(help_text="In the language of the request.")  # type: ignore[assignment]
    count = serializers.IntegerField()


class PortfolioGcmBucketSerializer(serializers.Serializer):
    key = serializers.IntegerField(min_value=1, max_value=23, help_text="GCM objective number.")
    label = serializers.CharField()  # type: ignore[assignment]
    count = serializers.IntegerField()


class PortfolioRequestMonthSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM")
    label = serializers.CharField()  # type: ignore[assignment]
    submitted = serializers.IntegerField()
    decided = serializers.IntegerField()
    accepted = serializers.IntegerField()
    declined = serializers.IntegerField()


class PortfolioTimelinessSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Requests answered (or decided) in the period.")
    median_days = serializers.FloatField(allow_null=True, help_text="Calendar days.")
    p90_days = serializers.FloatField(
        allow_null=True, help_text="90th percentile, calendar days (linear interpolation)."
    )
    target_working_days = serializers.IntegerField(help_text="The SLA target.")
    on_time = serializers.IntegerField(help_text="Done by the due date fixed at submission.")
    on_time_percent = serializers.FloatField(allow_null=True)


class PortfolioRequestsSerializer(serializers.Serializer):
    received = serializers.IntegerField(help_text="Submitted in the period.")
    decided = serializers.IntegerField(help_text="Accepted or declined in the period.")
    accepted = serializers.IntegerField()
    declined = serializers.IntegerField()
    acceptance_rate_percent = serializers.FloatField(allow_null=True)
    overdue_now = serializers.IntegerField(
        help_text="Open requests whose current target (response or decision) has passed."
    )
    per_month = PortfolioRequestMonthSerializer(many=True)
    first_response = PortfolioTimelinessSerializer()
    decision = PortfolioTimelinessSerializer()


class PortfolioActionsSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Actions whose period overlaps the period.")
    running = serializers.IntegerField(help_text="In implementation.")
    by_status = PortfolioBucketSerializer(many=True)
    by_thematic_area = PortfolioBucketSerializer(many=True)
    by_gcm_objective = PortfolioGcmBucketSerializer(many=True, help_text="All 23 objectives.")
    by_region = PortfolioBucketSerializer(many=True)


class PortfolioDeploymentMonthSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM")
    label = serializers.CharField()  # type: ignore[assignment]
    deployments = serializers.IntegerField()
    expert_days = serializers.IntegerField()


class PortfolioOriginSerializer(serializers.Serializer):
    key = serializers.ChoiceField(choices=["south_south", "eu_member_state", "other"])
    label = serializers.CharField()  # type: ignore[assignment]
    experts = serializers.IntegerField(help_text="Distinct experts deployed.")
    deployments = serializers.IntegerField()
    percent = serializers.FloatField(allow_null=True, help_text="Share of the experts.")


class PortfolioDeploymentsSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Confirmed or completed, starting in the period.")
    expert_days = serializers.IntegerField()
    experts = serializers.IntegerField(help_text="Distinct experts deployed.")
    per_month = PortfolioDeploymentMonthSerializer(many=True)
    by_origin = PortfolioOriginSerializer(many=True)
    south_south_percent = serializers.FloatField(allow_null=True)


class PortfolioIndicatorsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    measured = serializers.IntegerField()
    on_track = serializers.IntegerField(help_text="On track or target reached.")
    on_track_percent = serializers.FloatField(allow_null=True, help_text="Of those measured.")
    by_status = PortfolioBucketSerializer(many=True)


class PortfolioCriterionSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    average = serializers.FloatField(allow_null=True, help_text="1–4")


class PortfolioEvaluationsSerializer(serializers.Serializer):
    submitted = serializers.IntegerField(help_text="Final evaluations submitted in the period.")
    criteria = PortfolioCriterionSerializer(many=True)


class PortfolioRespondentSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    responses = serializers.IntegerField()
    average_satisfaction = serializers.FloatField(allow_null=True)


class PortfolioFeedbackSerializer(serializers.Serializer):
    responses = serializers.IntegerField()
    average_satisfaction = serializers.FloatField(allow_null=True, help_text="1–5")
    by_respondent = PortfolioRespondentSerializer(many=True)


class PortfolioKpiSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    value = serializers.FloatField(allow_null=True)
    unit = serializers.ChoiceField(choices=["count", "days", "percent", "score"])


class PortfolioReportSerializer(serializers.Serializer):
    filters = PortfolioFiltersSerializer()
    requests = PortfolioRequestsSerializer()
    actions = PortfolioActionsSerializer()
    deployments = PortfolioDeploymentsSerializer()
    indicators = PortfolioIndicatorsSerializer()
    evaluations = PortfolioEvaluationsSerializer()
    feedback = PortfolioFeedbackSerializer()
    kpis = PortfolioKpiSerializer(many=True)


PARAMETERS = [
    OpenApiParameter(
        "from",
        OpenApiTypes.DATE,
        OpenApiParameter.QUERY,
        description="First day of the period (default: the first day of the month eleven "
        f"months ago). The period covers at most {MAX_MONTHS} months.",
    ),
    OpenApiParameter(
        "to", OpenApiTypes.DATE, OpenApiParameter.QUERY, description="Last day (default: today)."
    ),
    OpenApiParameter("region", str, OpenApiParameter.QUERY, enum=Region.values),
    OpenApiParameter(
        "country", str, OpenApiParameter.QUERY, description="ISO 3166-1 alpha-2 code (any case)."
    ),
    OpenApiParameter(
        "thematic_area", str, OpenApiParameter.QUERY, description="Thematic area slug."
    ),
    OpenApiParameter(
        "gcm_objective", int, OpenApiParameter.QUERY, description="GCM objective number (1–23)."
    ),
]


@extend_validation_errors(
    ["invalid", "out_of_range", "period_too_long"], field_name="from", methods=["get"]
)
@extend_validation_errors(
    ["invalid", "out_of_range", "period_order", "period_too_long"], field_name="to", methods=["get"]
)
@extend_validation_errors(["invalid_choice"], field_name="region", methods=["get"])
@extend_validation_errors(["invalid_choice"], field_name="country", methods=["get"])
@extend_validation_errors(["invalid_choice"], field_name="thematic_area", methods=["get"])
@extend_validation_errors(["invalid_choice"], field_name="gcm_objective", methods=["get"])
class PortfolioReportView(APIView):
    """The portfolio dashboard's figures for programme staff."""

    permission_classes = [IsAuthenticatedAndVerified, IsProgrammeStaff]

    @extend_schema(
        parameters=PARAMETERS,
        responses=PortfolioReportSerializer,
        description="Staff: the portfolio dashboard's figures — requests per month, time "
        "to first response and to decision (median, 90th percentile, share within the "
        "SLA), acceptance rate, actions by status, thematic area, GCM objective (all 23) "
        "and region, deployments and expert-days per month, experts by origin "
        "(South–South, EU member states, others), indicators by progress, average DAC "
        "ratings, feedback and the headline KPIs — for a period (default: the last 12 "
        "months) and optionally one region, country, thematic area and GCM objective. "
        "Labels are in the language of the request. The dashboard page shows the same "
        "figures. They may be kept a few minutes (the deployment's "
        "DASHBOARD_CACHE_SECONDS); the Last-Modified header says when they were computed.",
    )
    def get(self, request: Request) -> Response:
        form = PortfolioFilterForm(request.query_params)
        if not form.is_valid():
            raise form_errors(form)
        report, computed_at = cached_portfolio_report(form.filters())
        # When the figures were computed: they may come from the cache (a few minutes old).
        return Response(report, headers={"Last-Modified": http_date(computed_at.timestamp())})
