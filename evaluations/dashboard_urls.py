"""The portfolio dashboard page, mounted at /dashboard/ by cbportal/urls.py."""

from django.urls import URLPattern, URLResolver

app_name = "dashboard"

urlpatterns: list[URLPattern | URLResolver] = []
