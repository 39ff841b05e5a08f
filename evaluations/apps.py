from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EvaluationsConfig(AppConfig):
    name = "evaluations"
    verbose_name = _("Monitoring and evaluation")

    def ready(self) -> None:
        from evaluations import notifications, workflow  # noqa: F401 - register tables and events
