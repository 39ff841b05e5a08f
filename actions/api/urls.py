"""API routes of actions, activities and expertise needs, mounted under /api/v1/."""

from rest_framework.routers import SimpleRouter

from actions.api.views import ActionViewSet, ActivityViewSet, ExpertiseNeedViewSet

router = SimpleRouter()
router.register("actions", ActionViewSet, basename="action")
router.register("activities", ActivityViewSet, basename="activity")
router.register("expertise-needs", ExpertiseNeedViewSet, basename="expertise-need")

urlpatterns = router.urls
