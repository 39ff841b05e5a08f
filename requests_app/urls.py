"""Pages of the requests and needs assessments app, mounted by cbportal/urls.py."""

from django.urls import URLPattern, URLResolver

app_name = "requests_app"

urlpatterns: list[URLPattern | URLResolver] = []
