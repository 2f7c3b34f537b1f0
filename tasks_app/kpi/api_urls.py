"""Mounted at /api/v1/ (accountability/urls.py)."""

from django.urls import path

from tasks_app.kpi import api

app_name = "kpi-api"

urlpatterns = [
    path("kpi/units/", api.KpiUnitsView.as_view(), name="kpi-units"),
    path("kpi/units/<str:code>/", api.KpiUnitDetailView.as_view(), name="kpi-unit"),
    path("kpi/officials/", api.KpiOfficialsView.as_view(), name="kpi-officials"),
    path("kpi/officials/<int:pk>/", api.KpiOfficialDetailView.as_view(), name="kpi-official"),
    path("kpi/general-scores/", api.GeneralScoreView.as_view(), name="kpi-general-scores"),
    path("indicators/", api.IndicatorListView.as_view(), name="indicators"),
    path("indicators/<int:pk>/", api.IndicatorDetailView.as_view(), name="indicator"),
    path("indicators/<int:pk>/actuals/", api.IndicatorActualView.as_view(), name="indicator-actuals"),
]
