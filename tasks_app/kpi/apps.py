from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KpiConfig(AppConfig):
    name = "tasks_app.kpi"
    label = "kpi"
    verbose_name = _("KPI, chỉ tiêu và báo cáo")
