"""The project's URLs plus two benchmark-only views:

- `bench/baseline/`: a bare Django view returning a precomputed JSON body (the API's very bytes);
- `bench/api-cached/`: what the API list would cost with its page cached — the API's own key
  authentication, permission and throttle (DRF), one Redis read of a data stamp and the body.
  A prototype to size a response cache, not something the site serves.

The API benchmark serves these and the real API from the same gunicorn, with the same workers and
middleware, so the ratios are the cost of the API's own work.
"""

import os
from pathlib import Path

from django.core.cache import cache
from django.http import HttpResponse
from django.urls import path
from rest_framework.views import APIView

from accountability.urls import urlpatterns as project_urlpatterns

_payload: bytes | None = None


def _body() -> bytes:
    global _payload
    if _payload is None:  # read once per worker, on its first request (the warm-up)
        _payload = Path(os.environ["BENCH_PAYLOAD"]).read_bytes()
    return _payload


def baseline(request):
    return HttpResponse(_body(), content_type="application/json")


class CachedList(APIView):
    """Default authentication (API key), permission and throttle classes, as the API's views."""

    def get(self, request):
        stamp_key = f"bench:stamp:unit:{request.auth.unit_id}"
        body_key = f"bench:page:{request.auth.unit_id}:{request.get_full_path()}"
        found = cache.get_many([stamp_key, body_key])
        body = found.get(body_key)
        if body is None or stamp_key not in found:
            body = _body()
            cache.set_many({stamp_key: 1, body_key: body}, 300)
        return HttpResponse(body, content_type="application/json")


urlpatterns = [
    path("bench/baseline/", baseline),
    path("bench/api-cached/", CachedList.as_view()),
    *project_urlpatterns,
]
