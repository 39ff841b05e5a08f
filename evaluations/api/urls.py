"""API routes of the monitoring and evaluation app, mounted under /api/v1/."""

from rest_framework.routers import SimpleRouter

from evaluations.api.views import (
    EvaluationViewSet,
    FeedbackLinkViewSet,
    FeedbackViewSet,
    IndicatorViewSet,
    MeasurementViewSet,
    OutcomeViewSet,
)

router = SimpleRouter()
router.register("indicators", IndicatorViewSet, basename="indicator")
router.register("measurements", MeasurementViewSet, basename="measurement")
router.register("outcomes", OutcomeViewSet, basename="outcome")
router.register("feedback", FeedbackViewSet, basename="feedback")
router.register("feedback-links", FeedbackLinkViewSet, basename="feedback-link")
router.register("evaluations", EvaluationViewSet, basename="evaluation")

urlpatterns = router.urls
