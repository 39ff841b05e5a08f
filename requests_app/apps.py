from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RequestsConfig(AppConfig):
    name = "requests_app"
    verbose_name = _("Requests and needs assessments")

    def ready(self) -> None:
        from requests_app import notifications, workflow  # noqa: F401 - register tables and events
