"""The public portfolio (no login), mounted at /portfolio/ by cbportal/urls.py."""

from django.urls import URLPattern, URLResolver, path

from evaluations import public_views

app_name = "portfolio"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", public_views.portfolio, name="index"),
    path("<str:reference>/", public_views.portfolio_detail, name="detail"),
]
