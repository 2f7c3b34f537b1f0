"""The project's URLs plus one benchmark-only view, `bench/baseline/`: a bare Django view returning
a precomputed JSON body (the API's very bytes).

The API benchmark serves it and the real API from the same gunicorn, with the same workers and
middleware, so the ratios are the cost of the API's own work.
"""

import os
from pathlib import Path

from django.http import HttpResponse
from django.urls import path

from accountability.urls import urlpatterns as project_urlpatterns

_payload: bytes | None = None


def _body() -> bytes:
    global _payload
    if _payload is None:  # read once per worker, on its first request (the warm-up)
        _payload = Path(os.environ["BENCH_PAYLOAD"]).read_bytes()
    return _payload


def baseline(request):
    return HttpResponse(_body(), content_type="application/json")


urlpatterns = [
    path("bench/baseline/", baseline),
    *project_urlpatterns,
]
