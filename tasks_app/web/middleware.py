"""Two-factor sign-in required of the officials who hold authority.

Anyone may turn on two-factor sign-in; an official who accepts deliverables and decides
extensions (a city leader, or the authority of any task or assignment) must. Until their
session is verified with a second factor they reach only the pages that set it up or sign out.
"""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.db.models import Exists, OuterRef, Q
from django.dispatch import receiver
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from two_factor.utils import default_device

from tasks_app import inputs
from tasks_app.web import errors

# Paths an unverified authority may still open: the two-factor pages, sign-out, the language
# switch, static files, and the token feeds. Under /api/ a key holder passes as before, and a
# session passes the same rule in the API's own session authentication (VerifiedSessionAuthentication),
# so the API answers in JSON instead of redirecting to a page.
_OPEN_PREFIXES = ("/account/", "/accounts/", "/i18n/", "/static/", "/api/", "/feeds/")


def holds_authority(user) -> bool:
    """One query: is this user's official a city leader or the authority of any task or assignment?"""
    from tasks_app.models import Assignment, Official, Task

    return (
        Official.objects.filter(user_id=user.pk)
        .filter(
            Q(role=Official.Role.LEADER)
            | Exists(Task.objects.filter(authority_id=OuterRef("pk")))
            | Exists(Assignment.objects.filter(authority_id=OuterRef("pk")))
        )
        .exists()
    )


def needs_second_factor(user) -> bool:
    """Whether this signed-in user must pass a second factor before using their session: the one
    rule of the pages, the admin and the session-authenticated API."""
    return (
        settings.TWO_FACTOR_REQUIRED_FOR_AUTHORITY
        and user.is_authenticated
        and not user.is_verified()
        and holds_authority(user)
    )


def require_two_factor_for_authority(get_response):
    def middleware(request):
        user = request.user
        if not request.path.startswith(_OPEN_PREFIXES) and needs_second_factor(user):
            if default_device(user) is not None:
                # Signed in some other way (e.g. the admin's form): sign in again with the token.
                messages.warning(request, _("Hãy đăng nhập lại bằng mã xác thực hai lớp."))
                return redirect(f"{reverse('two_factor:login')}?{urlencode({'next': request.get_full_path()})}")
            messages.warning(
                request,
                _("Tài khoản có thẩm quyền phải đăng nhập hai lớp. Hãy bật xác thực hai lớp để tiếp tục."),
            )
            return redirect(reverse("two_factor:setup"))
        return get_response(request)

    return middleware


def refuse_malformed_input(get_response):
    """NUL and control characters, over-long values and a foreign `next` in the path or the query
    get 400 before any view or query runs (tasks_app/inputs.py has the rules)."""

    def middleware(request):
        reason = inputs.malformed_request_reason(request.path, request.GET.lists())
        if reason is not None:
            return errors.bad_request(request, reason=reason)
        return get_response(request)

    return middleware


# Session keys of the idle timeout: when the session was last used (Unix seconds, written at most
# once per SESSION_IDLE_RESOLUTION_SECONDS so a busy page costs no session write per request) and the
# idle limit in force, decided at sign-in.
LAST_SEEN = "idle_last_seen"
IDLE_LIMIT = "idle_limit"


def idle_limit_seconds(user) -> int:
    """Authority holders (who accept deliverables, decide extensions) get the short limit."""
    minutes = settings.SESSION_IDLE_TIMEOUT_AUTHORITY_MINUTES if holds_authority(user) else None
    return 60 * (minutes or settings.SESSION_IDLE_TIMEOUT_MINUTES)


@receiver(user_logged_in, dispatch_uid="web_idle_clock_starts_at_sign_in")
def start_idle_clock(sender, request, user, **kwargs):
    """Sign-in starts the clock (so the first pages after it write nothing more to the session)."""
    if request is not None and hasattr(request, "session"):
        request.session[LAST_SEEN] = int(time.time())
        request.session[IDLE_LIMIT] = idle_limit_seconds(user)


def end_idle_sessions(get_response):
    """Signs out a session unused for longer than its idle limit (ASVS 7.3.1); the request then goes
    on as anonymous (pages send it to sign in, the API answers 401/403)."""

    def middleware(request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            session = request.session
            now = int(time.time())
            last_seen = session.get(LAST_SEEN)
            if last_seen is not None and now - last_seen > session.get(IDLE_LIMIT, 0):
                logout(request)
                if not request.path.startswith("/api/"):
                    messages.info(request, _("Phiên làm việc đã kết thúc vì lâu không hoạt động. Hãy đăng nhập lại."))
            elif last_seen is None or now - last_seen >= settings.SESSION_IDLE_RESOLUTION_SECONDS:
                session[LAST_SEEN] = now
                if IDLE_LIMIT not in session:  # a session from before the timeout existed
                    session[IDLE_LIMIT] = idle_limit_seconds(user)
        return get_response(request)

    return middleware
