"""The API's rate limit: one budget per key, counted in fixed windows in the cache (Redis).

Each request costs one `INCR` of the window's counter (plus a `SET NX EX` when the window opens),
where DRF's SimpleRateThrottle reads and writes the whole list of the window's request times. The
price of a fixed window: a client may spend its budget at the end of one window and again at the
start of the next, so up to twice the rate within one window's length, never more.
"""

from __future__ import annotations

import math
import time

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.core.cache import cache
from django.http import JsonResponse
from django.utils.translation import gettext as _
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from tasks_app.api.authentication import is_remembered
from tasks_app.api.permissions import has_api_key


class ApiKeyRateThrottle(SimpleRateThrottle):
    """One budget per API key (or per user for the session, per address when anonymous)."""

    scope = "api"
    cache_format = "throttle:%(scope)s:%(ident)s:%(window)d"

    def __init__(self):
        pass  # the rate is read per request (get_rate), not once at construction

    def get_rate(self):
        # Read at request time so a changed setting (and a test's override) takes effect.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_ident_key(self, request):
        if has_api_key(request):
            return f"key:{request.auth.pk}"
        if request.user and request.user.is_authenticated:
            return f"user:{request.user.pk}"
        return f"ip:{self.get_ident(request)}"

    def allow_request(self, request, view):
        rate = self.get_rate()
        if rate is None:
            return True
        num_requests, duration = self.parse_rate(rate)
        if num_requests is None or duration is None:
            return True
        self.num_requests, self.duration = num_requests, duration
        now = time.time()
        window = int(now // self.duration)
        self.window_end = (window + 1) * self.duration
        key = self.cache_format % {"scope": self.scope, "ident": self.get_ident_key(request), "window": window}
        try:
            count = cache.incr(key)
        except ValueError:  # the window's first request: create the counter, expiring after the window
            count = 1 if cache.add(key, 1, self.duration + 1) else cache.incr(key)
        self.now = now
        return count <= self.num_requests

    def wait(self):
        """Seconds until the window ends and the budget is whole again (Retry-After)."""
        return max(1, math.ceil(self.window_end - self.now))


# --- unauthenticated traffic -------------------------------------------------------------------
#
# DRF checks throttles after authentication, so a request with no key or a wrong one is answered 401
# without being counted: 700 guesses cost 700 × 401 and nothing else. This middleware counts, per
# client address (the one the sign-in lockout uses, X-Forwarded-For from nginx), every request
# under /api/ or /feeds/ that proves no identity: no key and no session, a 401, or a feed token that
# matches nothing. Past ANON_THROTTLE_RATE in a window that address gets 429 before any view runs
# until the window ends (a signed-in session still passes). Requests with a valid key or session
# are never counted, so only an address that sends unproven traffic is ever limited.

UNPROVEN_PREFIXES = ("/api/", "/feeds/")


def _anon_rate() -> tuple[int, int]:
    """ANON_THROTTLE_RATE as DRF writes rates: "60/min" → (60, 60 seconds)."""
    count, period = settings.ANON_THROTTLE_RATE.split("/")
    return int(count), {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]


def _window_key(address: str, duration: int, now: float) -> tuple[str, float]:
    window = int(now // duration)
    return f"throttle:anon:{address}:{window}", (window + 1) * duration


def _proved_nothing(request, response) -> bool:
    if response.status_code == 401:
        return True
    if request.path.startswith("/feeds/") and response.status_code == 404:
        return True  # a guessed feed token
    has_key = "HTTP_AUTHORIZATION" in request.META
    user = getattr(request, "user", None)
    return not has_key and not (user is not None and user.is_authenticated)


def throttle_unauthenticated(get_response):
    def middleware(request):
        if not request.path.startswith(UNPROVEN_PREFIXES):
            return get_response(request)
        limit, duration = _anon_rate()
        now = time.time()
        address = get_client_ip_address(request) or "unknown"
        key, window_end = _window_key(address, duration, now)
        signed_in = getattr(request, "user", None) is not None and request.user.is_authenticated
        # A key this worker verified moments ago proves an identity: no look-up of the address's count.
        proven = signed_in or is_remembered(request.META.get("HTTP_AUTHORIZATION", ""))
        if not proven and (cache.get(key) or 0) >= limit:
            retry_after = max(1, math.ceil(window_end - now))
            response = JsonResponse(
                {"detail": _("Quá nhiều yêu cầu không xác thực; hãy thử lại sau %(s)s giây.") % {"s": retry_after}},
                status=429,
                json_dumps_params={"ensure_ascii": False},
            )
            response["Retry-After"] = str(retry_after)
            return response
        response = get_response(request)
        if _proved_nothing(request, response):
            try:
                cache.incr(key)
            except ValueError:  # the window's first: create the counter, expiring after the window
                if not cache.add(key, 1, duration + 1):
                    cache.incr(key)
        return response

    return middleware
