from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "tasks_app.api"
    label = "tasks_api"
    verbose_name = _("API và webhook")
