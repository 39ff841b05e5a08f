"""The public portfolio (no login), mounted at /portfolio/ by cbportal/urls.py."""

from django.urls import URLPattern, URLResolver

app_name = "portfolio"

urlpatterns: list[URLPattern | URLResolver] = []
