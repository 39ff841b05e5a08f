from typing import Any

from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from cbportal.core import notifications
from cbportal.core.models import (
    CONFIGURABLE_CATEGORIES,
    AuditEntry,
    Digest,
    GcmObjective,
    Language,
    Notification,
    NotificationCategory,
    NotificationPreference,
    OrganisationNotificationDefault,
    OutboxEmail,
    ReminderLog,
    ThematicArea,
    TransitionEvent,
)


@admin.register(ThematicArea)
class ThematicAreaAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "position", "is_active"]
    list_editable = ["position", "is_active"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "name_fr", "name_es"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(GcmObjective)
class GcmObjectiveAdmin(ReadOnlyAdmin):
    list_display = ["number", "title"]


@admin.register(Language)
class LanguageAdmin(ReadOnlyAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(TransitionEvent)
class TransitionEventAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "content_type",
        "object_id",
        "transition",
        "from_state",
        "to_state",
        "actor_name",
    ]
    list_filter = ["content_type", "transition"]
    list_select_related = ["content_type"]
    search_fields = ["actor_name", "comment"]
    date_hierarchy = "created_at"


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """The audit log, read-only for everyone, administrators included (no add, change or
    delete, hence no delete action either); staff also browse it at ``/audit/``."""

    list_display = ["created_at", "kind", "actor_name", "content_type", "target_repr"]
    list_filter = ["kind", "content_type"]
    list_select_related = ["content_type"]
    search_fields = ["actor_name", "actor__username", "target_repr"]
    date_hierarchy = "created_at"


def _retry(model: type[OutboxEmail], queryset: QuerySet[Any]) -> int:
    """Put the selected failed rows back in the queue; each is queued after commit."""
    # The changelist's queryset may be annotated (GROUP BY), which cannot be locked: ids.
    return notifications.retry_failed(queryset.values_list("pk", flat=True), model=model)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Delivery status of every notification; failed ones can be queued again (so can
    they on the staff page "Email delivery")."""

    list_display = [
        "created_at",
        "recipient",
        "event",
        "email_status",
        "attempts",
        "next_attempt_at",
        "short_error",
        "sent_at",
        "digest",
        "read_at",
    ]
    list_filter = ["email_status", "category", "event"]
    list_select_related = ["recipient", "digest__recipient"]
    search_fields = ["recipient__username", "recipient__email", "subject", "last_error"]
    date_hierarchy = "created_at"
    actions = ["retry_delivery"]
    readonly_fields = [f.name for f in Notification._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("last error"))
    def short_error(self, obj: Notification) -> str:
        return _truncate(obj.last_error)

    @admin.action(description=_("Retry email delivery of the selected failed notifications"))
    def retry_delivery(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        count = _retry(Notification, queryset)
        self.message_user(
            request,
            ngettext(
                "%(count)d notification queued again.",
                "%(count)d notifications queued again.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )


def _truncate(text: str, length: int = 80) -> str:
    return text if len(text) <= length else f"{text[: length - 1]}…"


@admin.register(Digest)
class DigestAdmin(ReadOnlyAdmin):
    """Daily digest emails (read-only); failed ones can be queued again."""

    list_display = [
        "day",
        "recipient",
        "item_count",
        "email_status",
        "attempts",
        "next_attempt_at",
        "short_error",
        "sent_at",
    ]
    list_filter = ["email_status"]
    list_select_related = ["recipient"]
    search_fields = ["recipient__username", "recipient__email", "last_error"]
    date_hierarchy = "day"
    actions = ["retry_delivery"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Digest]:
        return super().get_queryset(request).annotate(item_count=models.Count("notifications"))

    @admin.display(description=_("notifications"), ordering="item_count")
    def item_count(self, obj: Any) -> int:
        return int(obj.item_count)

    @admin.display(description=_("last error"))
    def short_error(self, obj: Digest) -> str:
        return _truncate(obj.last_error)

    @admin.action(description=_("Retry email delivery of the selected failed digests"))
    def retry_delivery(self, request: HttpRequest, queryset: QuerySet[Digest]) -> None:
        count = _retry(Digest, queryset)
        self.message_user(
            request,
            ngettext(
                "%(count)d digest queued again.",
                "%(count)d digests queued again.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(ReminderLog)
class ReminderLogAdmin(ReadOnlyAdmin):
    """Which reminder went out for which object, reason and day (at most once a day)."""

    list_display = ["day", "reason", "content_type", "object_id", "occurrence", "recipients"]
    list_filter = ["reason", "content_type", "day"]
    list_select_related = ["content_type"]
    search_fields = ["reason", "occurrence"]
    date_hierarchy = "day"


class ConfigurableCategoryAdmin(admin.ModelAdmin):
    """Account messages are always emailed at once: they cannot be configured."""

    def formfield_for_choice_field(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "category":
            kwargs["choices"] = [
                (c, NotificationCategory(c).label) for c in CONFIGURABLE_CATEGORIES
            ]
        return super().formfield_for_choice_field(db_field, request, **kwargs)


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(ConfigurableCategoryAdmin):
    list_display = ["user", "category", "mode", "updated_at"]
    list_filter = ["category", "mode", "user__role"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__email"]
    autocomplete_fields = ["user"]


@admin.register(OrganisationNotificationDefault)
class OrganisationNotificationDefaultAdmin(ConfigurableCategoryAdmin):
    list_display = ["organisation", "category", "mode", "updated_by", "updated_at"]
    list_filter = ["category", "mode"]
    list_select_related = ["organisation", "updated_by"]
    search_fields = ["organisation__name", "organisation__acronym"]
    autocomplete_fields = ["organisation"]
    readonly_fields = ["updated_by", "updated_at"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)
