"""Sign-out, password change and password reset by email. Sign-in itself is the two-factor
wizard (`two_factor:login`); Django's plain login view is not exposed, so no path skips it."""

from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy
from django.views.generic import RedirectView

from tasks_app.web.password_reset import LimitedPasswordResetView

urlpatterns = [
    path("login/", RedirectView.as_view(pattern_name="two_factor:login", query_string=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page=reverse_lazy("two_factor:login")), name="logout"),
    path("password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password_change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password_reset/", LimitedPasswordResetView.as_view(), name="password_reset"),
    path("password_reset/done/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
]
