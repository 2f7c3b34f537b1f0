"""The API's rate limit: one budget per key, counted in fixed windows in the cache (Redis).

Each request costs one `INCR` of the window's counter (plus a `SET NX EX` when the window opens),
where DRF's SimpleRateThrottle reads and writes the whole list of the window's request times. The
price of a fixed window: a client may spend its budget at the end of one window and again at the
start of the next, so up to twice the rate within one window's length, never more.
"""

from __future__ import annotations

import math
import time

from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

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
