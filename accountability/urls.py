from django.contrib import admin
from django.urls import include, path
from two_factor.urls import urlpatterns as two_factor_urls

# Each area adds its own include here (web at "", API under "api/", feeds, KPI pages).
urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("tasks_app.reminders.api_urls")),
    path("feeds/", include("tasks_app.reminders.urls")),
    path("api/", include("tasks_app.api.urls")),
    # Sign-in is django-two-factor-auth's wizard (account/login/, account/two_factor/…); sign-out,
    # password change and reset by email under accounts/; the language switch.
    path("", include(two_factor_urls)),
    path("accounts/", include("tasks_app.web.auth_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    # KPI, indicators, reports and plan import: API under api/v1/, pages under kpi/.
    path("api/v1/", include("tasks_app.kpi.api_urls")),
    path("kpi/", include("tasks_app.kpi.urls")),
    # The web pages last, so that admin/, api/ and feeds/ match first.
    path("", include("tasks_app.web.urls")),
]

# JSON errors under /api/, Django's pages elsewhere (tasks_app/web/errors.py).
handler400 = "tasks_app.web.errors.bad_request"
handler403 = "tasks_app.web.errors.permission_denied"
handler404 = "tasks_app.web.errors.page_not_found"
handler500 = "tasks_app.web.errors.server_error"
