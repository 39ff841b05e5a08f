"""Pages of the monitoring and evaluation app, mounted by cbportal/urls.py."""

from django.urls import URLPattern, URLResolver

app_name = "evaluations"

urlpatterns: list[URLPattern | URLResolver] = []
