from __future__ import annotations

from typing import Any

import django_otp
from django.conf import settings
from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from django_otp import user_has_device
from drf_spectacular.utils import extend_schema
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import exceptions, generics, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cbportal.accounts import selectors, services
from cbportal.accounts.api.authentication import token_issued_with_second_factor
from cbportal.accounts.api.serializers import (
    CountrySerializer,
    MeSerializer,
    OrganisationSerializer,
    TokenRequestSerializer,
    TokenResponseSerializer,
)
from cbportal.accounts.models import Country, Organisation
from cbportal.core.rate_limits import ScopedRateThrottle


# The refusals raised in post() below, for the schema (drf-standardized-errors).
@extend_validation_errors(["authorization"], methods=["post"])
@extend_validation_errors(["otp_required", "otp_invalid"], field_name="otp_token", methods=["post"])
class ObtainTokenView(APIView):
    """Exchange a username and password (and a one-time code, where the account has an
    authenticator or its role requires one) for an API token."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"

    @extend_schema(request=TokenRequestSerializer, responses=TokenResponseSerializer, auth=[])
    def post(self, request: Request) -> Response:
        form = TokenRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        user = authenticate(request._request, username=data["username"], password=data["password"])
        if getattr(request._request, "axes_locked_out", False):
            raise exceptions.Throttled(
                wait=settings.AXES_COOLOFF_TIME.total_seconds(),
                detail=_("Too many failed sign-in attempts. Try again later."),
            )
        if user is None:
            raise exceptions.ValidationError(
                [_("The username and password do not match an active account.")],
                code="authorization",
            )
        with_code = user_has_device(user) or services.two_factor_required(user)
        if with_code:
            token = (data.get("otp_token") or "").replace(" ", "")
            if not token:
                raise exceptions.ValidationError(
                    {
                        "otp_token": [
                            _("This account needs a one-time code from its authenticator.")
                        ]
                    },
                    code="otp_required",
                )
            if django_otp.match_token(user, token) is None:
                raise exceptions.ValidationError(
                    {"otp_token": [_("That code is not valid or has already been used.")]},
                    code="otp_invalid",
                )
        if with_code:
            # A token from before the authenticator was issued without a code: this one
            # was, so it replaces it (cbportal.accounts.api.authentication).
            existing = Token.objects.filter(user=user).first()
            if existing is not None and not token_issued_with_second_factor(user, existing):
                existing.delete()
        key, _created = Token.objects.get_or_create(user=user)
        return Response({"token": key.key})


class MeView(generics.RetrieveUpdateAPIView):
    """The signed-in user, with ``role``, ``is_approver`` and ``organisation``. ``PATCH`` may
    change the names and the language of pages and emails."""

    serializer_class = MeSerializer
    # The default (verified where two-factor is required), not plain IsAuthenticated: an
    # unverified staff session may not read or change its own account through the API.
    http_method_names = ["get", "patch", "head", "options"]

    def get_object(self) -> Any:
        return self.request.user


class OrganisationFilter(filters.FilterSet):
    country = filters.CharFilter(field_name="country__code", lookup_expr="iexact")

    class Meta:
        model = Organisation
        fields = ["country", "kind", "is_active"]


class OrganisationViewSet(viewsets.ReadOnlyModelViewSet):
    """Partner organisations: staff see all, a partner sees their own."""

    serializer_class = OrganisationSerializer
    filterset_class = OrganisationFilter
    search_fields = ["name", "acronym"]
    ordering_fields = ["name", "acronym"]
    queryset = Organisation.objects.none()

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Organisation.objects.none()
        return selectors.organisations_for(self.request.user)


class CountryFilter(filters.FilterSet):
    class Meta:
        model = Country
        fields = ["region", "subregion"]


class CountryViewSet(viewsets.ReadOnlyModelViewSet):
    """ISO 3166-1 countries with their UN M49 region, looked up by alpha-2 code."""

    serializer_class = CountrySerializer
    permission_classes = [AllowAny]
    filterset_class = CountryFilter
    search_fields = ["code", "iso3", "name", "name_fr", "name_es"]
    ordering_fields = ["code", "name", "region"]
    lookup_value_regex = "[A-Za-z]{2}"

    def get_queryset(self) -> Any:
        return selectors.countries()

    def get_object(self) -> Any:
        self.kwargs[self.lookup_field] = str(self.kwargs[self.lookup_field]).upper()
        return super().get_object()
