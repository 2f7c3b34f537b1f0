"""The API's rate limit: one budget per key, counted in fixed windows in the cache (Redis).

The window's counter in Redis counts the requests the workers have taken from the budget: one
round trip adds to it (a small script that increments it and, when that created it, sets it to
expire after the window: `count`), where DRF's SimpleRateThrottle reads and writes the whole list
of the window's request times and Django's `cache.incr` makes two round trips (EXISTS, then
INCRBY) and a new client object per call. The counter has Django's cache key and value format, so
`cache.get` reads it.

A busy key's requests are taken in leases (`take`): a worker adds `lease_size(budget)` to the
counter at once (1 below 400 requests a window, so small budgets are counted one by one) and spends
the requests it got without asking Redis again. Whatever was added counts against the budget,
spent or not, so all workers together never serve more than the budget in a window; the price is
the other way: a client may be refused while other workers still hold unspent requests of its
window, at most `workers × (lease − 1)` (at 600 a minute, leases of 3: 10 requests with 5 workers).

The price of a fixed window: a client may spend its budget at the end of one window and again at
the start of the next, so up to twice the rate within one window's length, never more.
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from typing import Any

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.http import JsonResponse
from django.utils.translation import gettext as _
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from tasks_app.api.authentication import is_remembered
from tasks_app.api.permissions import has_api_key

# INCRBY, and EXPIRE when that made the window's counter: atomic, one command.
_COUNT_SCRIPT = """
local n = redis.call('INCRBY', KEYS[1], ARGV[2])
if n == tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""
# The most requests one lease takes, and the budget per window that makes a lease of 2.
LEASE_MAX = 16
LEASE_PER = 200
# Per Redis cache client (one per process, and per test that swaps CACHES): the script bound to
# one client over the cache's own connection pool, made once, not per request.
_scripts: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def count(key: str, seconds: int, by: int = 1) -> int:
    """Add `by` requests to the counter `key` of the default cache, which expires `seconds` after
    its first request; returns the count, these requests included."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):  # the embedded default: the local-memory cache
        try:
            return backend.incr(key, by)
        except ValueError:  # the window's first request: create the counter, expiring after the window
            return by if backend.add(key, by, seconds) else backend.incr(key, by)
    store = backend._cache  # type: ignore[attr-defined]  # Django's RedisCacheClient: its pool and key format
    script = _scripts.get(store)
    if script is None:
        script = _scripts[store] = store.get_client(write=True).register_script(_COUNT_SCRIPT)
    return int(script(keys=[backend.make_and_validate_key(key)], args=[seconds, by]))


def lease_size(budget: int) -> int:
    return max(1, min(LEASE_MAX, budget // LEASE_PER))


# Requests this process took from a window's budget and has not served yet: {counter key: how many}.
# Keys name their window, so an old window's lease is never spent; the lock keeps two threads of
# one process from serving the same one.
_leases: dict[str, int] = {}
_leases_lock = threading.Lock()


def take(key: str, budget: int, seconds: int) -> bool:
    """Whether one more request fits in the budget of the window counter `key`: from this process's
    lease of that window, else from a new lease added to the counter (see the module's docstring)."""
    with _leases_lock:
        left = _leases.get(key, 0)
        if left:
            _leases[key] = left - 1
            return True
    size = lease_size(budget)
    total = count(key, seconds, size)
    granted = min(size, budget - (total - size))  # of the `size` just added, those within the budget
    if granted <= 0:
        return False
    if granted > 1:
        with _leases_lock:
            if len(_leases) >= 1000:  # the windows gone by; live leases dropped are only refused
                _leases.clear()
            _leases[key] = _leases.get(key, 0) + granted - 1
    return True


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
        self.now = now
        return take(key, self.num_requests, self.duration + 1)

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
        signed_in = getattr(request, "user", None) is not None and request.user.is_authenticated
        # A key this worker verified moments ago proves an identity: no look-up of the address's
        # count (nor of the address itself, unless the response proves nothing after all).
        proven = signed_in or is_remembered(request.META.get("HTTP_AUTHORIZATION", ""))

        def window() -> tuple[str, float]:
            return _window_key(get_client_ip_address(request) or "unknown", duration, now)

        found = None if proven else window()
        if found is not None and (cache.get(found[0]) or 0) >= limit:
            retry_after = max(1, math.ceil(found[1] - now))
            response = JsonResponse(
                {"detail": _("Quá nhiều yêu cầu không xác thực; hãy thử lại sau %(s)s giây.") % {"s": retry_after}},
                status=429,
                json_dumps_params={"ensure_ascii": False},
            )
            response["Retry-After"] = str(retry_after)
            return response
        response = get_response(request)
        if _proved_nothing(request, response):
            count((found or window())[0], duration + 1)
        return response

    return middleware
