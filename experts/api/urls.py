"""API routes of the experts and deployments app, mounted under /api/v1/.

``expertise-needs`` itself is registered by actions/api/urls.py; its matching routes are
added here as explicit paths (they are longer than the router's detail route, so the two
never clash)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from experts.api.views import DeploymentViewSet, ExpertViewSet, MatchingViewSet

router = SimpleRouter()
router.register("experts", ExpertViewSet, basename="expert")
router.register("deployments", DeploymentViewSet, basename="deployment")

urlpatterns = [
    path(
        "expertise-needs/<int:pk>/match/",
        MatchingViewSet.as_view({"post": "match"}),
        name="expertise-need-match",
    ),
    path(
        "expertise-needs/<int:pk>/matches/",
        MatchingViewSet.as_view({"get": "matches"}),
        name="expertise-need-matches",
    ),
    path("match-jobs/<int:pk>/", MatchingViewSet.as_view({"get": "job"}), name="match-job"),
    *router.urls,
]
