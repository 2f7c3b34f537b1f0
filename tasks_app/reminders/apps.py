from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RemindersConfig(AppConfig):
    name = "tasks_app.reminders"
    label = "reminders"
    verbose_name = _("Nhắc việc")

    def ready(self):
        # Connects the handoff notices to the lifecycle's events.
        from . import handoffs  # noqa: F401
