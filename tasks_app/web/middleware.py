"""Two-factor sign-in required of the officials who hold authority.

Anyone may turn on two-factor sign-in; an official who accepts deliverables and decides
extensions (a city leader, or the authority of any task or assignment) must. Until their
session is verified with a second factor they reach only the pages that set it up or sign out.
"""

from django.conf import settings
from django.contrib import messages
from django.db.models import Exists, OuterRef, Q
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
