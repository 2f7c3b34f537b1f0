"""Mounted at /api/: the schema, the offline docs and the v1 endpoints.

Other areas mount their own API modules under /api/v1/ in accountability/urls.py (reminders, KPI).
"""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from tasks_app.api import views

app_name = "api"

router = SimpleRouter()
router.register("units", views.UnitViewSet, basename="unit")
router.register("tasks", views.TaskViewSet, basename="task")
router.register("assignments", views.AssignmentViewSet, basename="assignment")
router.register("extension-requests", views.ExtensionRequestViewSet, basename="extension-request")
router.register("webhooks", views.WebhookEndpointViewSet, basename="webhook")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: no inline script under the site's CSP.
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api:schema", template_name="api/swagger_ui.html"),
        name="docs",
    ),
    path("v1/", include(router.urls)),
    re_path(
        rf"^v1/evidence/(?P<pk>{views.ID_PATTERN})/download/$",
        views.EvidenceDownloadView.as_view(),
        name="evidence-download",
    ),
    re_path(
        rf"^v1/inspection-photos/(?P<pk>{views.ID_PATTERN})/download/$",
        views.InspectionPhotoDownloadView.as_view(),
        name="inspection-photo-download",
    ),
]
