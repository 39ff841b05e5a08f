from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActionsConfig(AppConfig):
    name = "actions"
    verbose_name = _("Tailor-made actions")

    def ready(self) -> None:
        from actions import notifications, workflow  # noqa: F401 - register tables and events
