"""The project's URLs plus `bench/baseline/`: a bare Django view returning a precomputed JSON body.

The API benchmark serves both from the same gunicorn, with the same workers and middleware, so
their ratio is the cost of the API's own work (key check, throttle, queries, serialisation).
"""

import os
from pathlib import Path

from django.http import HttpResponse
from django.urls import path

from accountability.urls import urlpatterns as project_urlpatterns

_payload: bytes | None = None


def baseline(request):
    global _payload
    if _payload is None:  # read once per worker, on its first request (the warm-up)
        _payload = Path(os.environ["BENCH_PAYLOAD"]).read_bytes()
    return HttpResponse(_payload, content_type="application/json")


urlpatterns = [path("bench/baseline/", baseline), *project_urlpatterns]
