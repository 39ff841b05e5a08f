from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from cbportal.accounts.models import Country, Invitation, Organisation, User
from cbportal.core import audit


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

    # Every change that matters for access is audited (cbportal.core.audit) in the admin's
    # own transaction: the stored row is read before the save, compared after the groups
    # and permissions (saved by ``save_related``) are in place.
    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            obj._audit_before = audit.user_snapshot(
                User.objects.select_related("organisation").get(pk=obj.pk)
            )
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        user = form.instance
        before = getattr(user, "_audit_before", None)
        if before is None:
            audit.audit_account_created(user=user, by=request.user, how="administration")
        else:
            audit.audit_user_change(user=user, before=before, by=request.user)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        audit.audit_account_deleted(user=obj, by=request.user)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for user in queryset.select_related("organisation"):
            audit.audit_account_deleted(user=user, by=request.user)
        super().delete_queryset(request, queryset)


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
