from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "tasks_app.api"
    label = "tasks_api"
    verbose_name = _("API và webhook")

    def ready(self):
        # Connects the webhook receiver to the domain events, and registers the Bearer scheme
        # with drf-spectacular.
        from tasks_app.api import authentication, webhooks  # noqa: F401
