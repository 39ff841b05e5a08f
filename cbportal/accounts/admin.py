from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from cbportal.accounts.models import Country, Invitation, Organisation, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = [
        "username",
        "email",
        "first_name",
        "last_name",
        "role",
        "is_approver",
        "organisation",
        "lead",
        "is_active",
    ]
    list_filter = ["role", "is_approver", "is_active", "is_superuser"]
    list_select_related = ["organisation", "lead"]
    search_fields = ["username", "email", "first_name", "last_name"]
    autocomplete_fields = ["organisation", "lead"]
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        (
            _("CB Portal"),
            {"fields": ("role", "is_approver", "organisation", "lead", "language")},
        ),
    )
    add_fieldsets = (
        *(DjangoUserAdmin.add_fieldsets or ()),
        (_("CB Portal"), {"fields": ("email", "role", "is_approver", "organisation", "language")}),
    )


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "acronym", "kind", "country", "is_active"]
    list_filter = ["kind", "is_active", "country__region"]
    list_select_related = ["country"]
    search_fields = ["name", "acronym"]
    autocomplete_fields = ["country"]


@admin.register(Country)
class CountryAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "region", "subregion"]
    list_filter = ["region", "subregion"]
    search_fields = ["code", "iso3", "name", "name_fr", "name_es"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["user", "invited_by", "sent_at", "expires_at", "accepted_at"]
    list_select_related = ["user", "invited_by"]
    readonly_fields = [
        "user",
        "invited_by",
        "nonce",
        "created_at",
        "sent_at",
        "expires_at",
        "accepted_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
