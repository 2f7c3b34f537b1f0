from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TasksAppConfig(AppConfig):
    name = "tasks_app"
    verbose_name = _("Theo dõi nhiệm vụ")

    def ready(self):
        # Signal receivers: the idle-session clock starts at every sign-in.
        from tasks_app.web import middleware  # noqa: F401
