from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from cbportal.accounts import views as account_views
from cbportal.accounts.api.views import MeView, ObtainTokenView

api_v1: list[URLPattern | URLResolver] = [
    path("auth/token/", ObtainTokenView.as_view(), name="token"),
    path("me/", MeView.as_view(), name="me"),
    path("", include("cbportal.core.api.urls")),
    path("", include("requests_app.api.urls")),
    path("", include("actions.api.urls")),
    path("", include("experts.api.urls")),
    path("", include("evaluations.api.urls")),
    path("", include("evaluations.api.report_urls")),
    path("", include("evaluations.api.public_urls")),
]

urlpatterns = [
    path("", include("cbportal.core.urls")),
    path("accounts/", include("cbportal.accounts.urls")),
    path("i18n/setlang/", account_views.set_language, name="set_language"),
    path("requests/", include("requests_app.urls")),
    path("actions/", include("actions.urls")),
    path("experts/", include("experts.urls")),
    path("evaluations/", include("evaluations.urls")),
    path("dashboard/", include("evaluations.dashboard_urls")),
    path("portfolio/", include("evaluations.public_urls")),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]

admin.site.site_header = "CB Portal"
admin.site.site_title = "CB Portal"

handler404 = "cbportal.core.views.page_not_found"
handler403 = "cbportal.core.views.permission_denied"
handler500 = "cbportal.core.views.server_error"
