"""API reports (``/api/v1/reports/…``)."""

from django.urls import URLPattern, URLResolver, path

from evaluations.api.reports import PortfolioReportView

urlpatterns: list[URLPattern | URLResolver] = [
    path("reports/portfolio/", PortfolioReportView.as_view(), name="portfolio-report"),
]
