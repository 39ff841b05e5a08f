from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from cbportal.accounts.models import Country, Organisation, User
from cbportal.core.api.serializers import StrictModelSerializer, StrictSerializer


class CountrySerializer(serializers.ModelSerializer):
    display_name = serializers.CharField(read_only=True)

    class Meta:
        model = Country
        fields = ["code", "iso3", "name", "display_name", "region", "subregion"]


class OrganisationSerializer(serializers.ModelSerializer):
    country = serializers.CharField(
        source="country_id", read_only=True, help_text="ISO 3166-1 alpha-2 code"
    )

    class Meta:
        model = Organisation
        fields = ["id", "name", "acronym", "kind", "country", "is_active"]


class MeSerializer(StrictModelSerializer):
    organisation = OrganisationSerializer(read_only=True, allow_null=True)
    language = serializers.ChoiceField(
        choices=settings.LANGUAGES,
        error_messages={"invalid_choice": _("Unsupported language “{input}”: use en, fr or es.")},
    )

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "first_name",
            "last_name",
            "email",
            "role",
            "is_approver",
            "organisation",
            "language",
        ]
        read_only_fields = ["id", "username", "email", "role", "is_approver", "organisation"]


class TokenRequestSerializer(StrictSerializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    otp_token = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text=_("Six-digit code from the authenticator app, for accounts that use one."),
    )


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()

    def create(self, validated_data: Any) -> Any:  # pragma: no cover - output only
        raise NotImplementedError

    def update(self, instance: Any, validated_data: Any) -> Any:  # pragma: no cover
        raise NotImplementedError
