"""KPI, indicator, report and import pages, mounted at /kpi/ (accountability/urls.py)."""

from django.urls import path
from django.views.generic import RedirectView

from tasks_app.kpi import views

app_name = "kpi"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="kpi:units", permanent=False), name="index"),
    path("units/", views.units, name="units"),
    path("units/record/", views.record, name="record"),
    path("units/export.<str:fmt>", views.units_export, name="units-export"),
    path("units/<str:code>/", views.unit_detail, name="unit"),
    path("officials/", views.officials, name="officials"),
    path("officials/export.<str:fmt>", views.officials_export, name="officials-export"),
    path("officials/<int:pk>/", views.official_detail, name="official"),
    path("indicators/", views.indicators, name="indicators"),
    path("indicators/<int:pk>/", views.indicator_detail, name="indicator"),
    path("reports/", views.reports, name="reports"),
    path("reports/summary.<str:fmt>", views.summary_export, name="summary-export"),
    path("reports/meeting.docx", views.meeting_export, name="meeting-export"),
    path("reports/appendix.xlsx", views.appendix_export, name="appendix-export"),
    path("import/", views.import_page, name="import"),
]
