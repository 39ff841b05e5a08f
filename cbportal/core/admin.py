from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from cbportal.core import notifications
from cbportal.core.models import (
    DeliveryStatus,
    GcmObjective,
    Language,
    Notification,
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


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Delivery status of every notification; failed ones can be queued again."""

    list_display = [
        "created_at",
        "recipient",
        "event",
        "email_status",
        "attempts",
        "sent_at",
        "read_at",
    ]
    list_filter = ["email_status", "category", "event"]
    list_select_related = ["recipient"]
    search_fields = ["recipient__username", "recipient__email", "subject", "last_error"]
    date_hierarchy = "created_at"
    actions = ["retry_delivery"]
    readonly_fields = [f.name for f in Notification._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Retry email delivery of the selected failed notifications"))
    def retry_delivery(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        count = notifications.retry_failed(ids)
        notifications.enqueue(
            Notification.objects.filter(
                pk__in=ids, email_status=DeliveryStatus.PENDING
            ).values_list("pk", flat=True)
        )
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
