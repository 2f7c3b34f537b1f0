"""Password reset by email, limited and answering alike (ASVS 5.0 6.4.x, 6.3.x).

The page enqueues one Celery task with the address typed, whether or not an account has it: the
worker looks the address up and mails the link, so the answer and its timing never say which
addresses exist. Each client address may ask PASSWORD_RESET_PER_CLIENT times an hour (then 429);
each email address gets at most PASSWORD_RESET_PER_ADDRESS mails an hour, past which further
requests for it are silently dropped (the page answers as always).
"""

from __future__ import annotations

import hashlib
import time

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.translation import get_language
from django.utils.translation import gettext as _

WINDOW_SECONDS = 3600


def _count(kind: str, value: str) -> int:
    """One more request in this hour's window for (kind, value); returns the window's count."""
    window = int(time.time() // WINDOW_SECONDS)
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]  # no address kept in the cache
    key = f"pwreset:{kind}:{digest}:{window}"
    if cache.add(key, 1, WINDOW_SECONDS + 1):
        return 1
    return cache.incr(key)


class QueuedPasswordResetForm(PasswordResetForm):
    def enqueue(self, request: HttpRequest) -> None:
        """Instead of PasswordResetForm.save(), which looks the address up and mails in the request."""
        from tasks_app.tasks import send_password_reset

        send_password_reset.delay_on_commit(
            self.cleaned_data["email"], request.get_host(), request.is_secure(), get_language()
        )


class LimitedPasswordResetView(auth_views.PasswordResetView):
    form_class = QueuedPasswordResetForm

    def form_valid(self, form: QueuedPasswordResetForm) -> HttpResponse:
        if _count("client", get_client_ip_address(self.request) or "unknown") > settings.PASSWORD_RESET_PER_CLIENT:
            form.add_error(None, _("Quá nhiều yêu cầu đặt lại mật khẩu từ máy này; hãy thử lại sau một giờ."))
            response = self.form_invalid(form)
            response.status_code = 429
            response["Retry-After"] = str(WINDOW_SECONDS)
            return response
        if _count("address", form.cleaned_data["email"]) <= settings.PASSWORD_RESET_PER_ADDRESS:
            form.enqueue(self.request)
        return HttpResponseRedirect(self.get_success_url())
