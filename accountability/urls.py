from django.contrib import admin
from django.urls import path

# Each area adds its own include here (web at "", API under "api/", feeds, KPI pages).
urlpatterns = [
    path("admin/", admin.site.urls),
]
