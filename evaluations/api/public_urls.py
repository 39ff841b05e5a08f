"""The public portfolio's read-only JSON (``/api/v1/public/…``, no authentication)."""

from django.urls import URLPattern, URLResolver
from rest_framework.routers import SimpleRouter

from evaluations.api.public import PublicActionViewSet

router = SimpleRouter()
router.register("public/actions", PublicActionViewSet, basename="public-action")

urlpatterns: list[URLPattern | URLResolver] = [*router.urls]
