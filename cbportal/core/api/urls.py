from django.urls import path
from rest_framework.routers import SimpleRouter

from cbportal.accounts.api.views import CountryViewSet, OrganisationViewSet
from cbportal.core.api.audit import AuditEntryViewSet
from cbportal.core.api.views import (
    GcmObjectiveViewSet,
    LanguageViewSet,
    NotificationPreferencesView,
    NotificationViewSet,
    OrganisationNotificationDefaultsView,
    ThematicAreaViewSet,
)

router = SimpleRouter()
router.register("organisations", OrganisationViewSet, basename="organisation")
router.register("countries", CountryViewSet, basename="country")
router.register("thematic-areas", ThematicAreaViewSet, basename="thematic-area")
router.register("gcm-objectives", GcmObjectiveViewSet, basename="gcm-objective")
router.register("languages", LanguageViewSet, basename="language")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("audit", AuditEntryViewSet, basename="audit-entry")

urlpatterns = [
    path(
        "notification-preferences/",
        NotificationPreferencesView.as_view(),
        name="notification-preferences",
    ),
    path(
        "organisations/<int:pk>/notification-defaults/",
        OrganisationNotificationDefaultsView.as_view(),
        name="organisation-notification-defaults",
    ),
    *router.urls,
]
