"""The portfolio dashboard page, mounted at /dashboard/ by cbportal/urls.py."""

from django.urls import URLPattern, URLResolver, path

from evaluations import dashboard_views

app_name = "dashboard"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", dashboard_views.index, name="index"),
]
