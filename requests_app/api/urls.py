"""API routes of requests and needs assessments, mounted under /api/v1/."""

from rest_framework.routers import SimpleRouter

from requests_app.api.views import AssessmentViewSet, RequestViewSet

router = SimpleRouter()
router.register("requests", RequestViewSet, basename="request")
router.register("assessments", AssessmentViewSet, basename="assessment")

urlpatterns = router.urls
