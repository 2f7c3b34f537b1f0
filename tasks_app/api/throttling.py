from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from tasks_app.api.permissions import has_api_key


class ApiKeyRateThrottle(SimpleRateThrottle):
    """One budget per API key (or per user for the session, per address when anonymous)."""

    scope = "api"

    def get_rate(self):
        # Read at request time so a changed setting (and a test's override) takes effect.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view):
        if has_api_key(request):
            ident = f"key:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
