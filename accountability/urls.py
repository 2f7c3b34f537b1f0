from django.contrib import admin
from django.urls import include, path

# Each area adds its own include here (web at "", API under "api/", feeds, KPI pages).
urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("tasks_app.api.urls")),
]
