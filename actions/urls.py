"""Pages of the tailor-made actions app, mounted by cbportal/urls.py."""

from django.urls import URLPattern, URLResolver

app_name = "actions"

urlpatterns: list[URLPattern | URLResolver] = []
