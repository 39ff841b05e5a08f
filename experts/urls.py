"""Pages of the experts and deployments app, mounted by cbportal/urls.py."""

from django.urls import URLPattern, URLResolver

app_name = "experts"

urlpatterns: list[URLPattern | URLResolver] = []
