from django.urls import path

from cbportal.core import views

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("livez", views.livez, name="livez"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification-read"),
    path("notifications/read-all/", views.notifications_read_all, name="notifications-read-all"),
    path(
        "notifications/preferences/",
        views.notification_preferences,
        name="notification-preferences",
    ),
    path(
        "notifications/organisation-defaults/",
        views.organisation_notification_defaults,
        name="organisation-notification-defaults",
    ),
    path("notifications/outbox/", views.outbox, name="outbox"),
    path("notifications/outbox/retry/", views.outbox_retry, name="outbox-retry"),
    path("audit/", views.audit_log, name="audit"),
]
