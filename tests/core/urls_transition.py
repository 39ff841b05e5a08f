"""URLs for tests/core/test_api.py: a probe of the core transition mechanism behind DRF."""

from django.urls import path

from tests.core.test_api import TransitionProbeView

urlpatterns = [
    path("transition-probe/<str:name>/", TransitionProbeView.as_view(), name="transition-probe"),
]
