"""The public portfolio's read-only JSON (``/api/v1/public/…``, no authentication)."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
