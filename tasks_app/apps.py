from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TasksAppConfig(AppConfig):
    name = "tasks_app"
    verbose_name = _("Theo dõi nhiệm vụ")

    def ready(self) -> None:
        from tasks_app import figures  # noqa: F401  (connects the figures version's receivers)
        from tasks_app.web import middleware  # noqa: F401  (the idle-session clock starts at sign-in)
