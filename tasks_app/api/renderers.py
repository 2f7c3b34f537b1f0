"""The API's JSON renderer: DRF's JSON, written by orjson (drf-orjson-renderer).

orjson writes str, int, float, bool, None, dict and list (and their subclasses: DRF's ReturnDict,
ErrorDetail) itself, several times faster than `json.dumps`; everything else (dates and times,
Decimal, UUID, lazy translations, querysets) goes through DRF's own encoder, so the bytes are the
ones `rest_framework.renderers.JSONRenderer` writes (compact, UTF-8, datetimes as DRF shows them).
What orjson refuses (a dict with non-string keys: a list field's errors by index) is written by
DRF's renderer. tests/test_api_perf.py compares them."""

from __future__ import annotations

from typing import Any

import orjson
from drf_orjson_renderer.renderers import ORJSONRenderer  # type: ignore[import-untyped]
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

_encoder = JSONEncoder()


class ApiJSONRenderer(ORJSONRenderer):
    options = orjson.OPT_PASSTHROUGH_DATETIME

    @staticmethod
    def default(obj: Any) -> Any:
        return _encoder.default(obj)

    def render(self, data: Any, media_type: str | None = None, renderer_context: Any = None) -> bytes:
        try:
            return super().render(data, media_type, renderer_context)
        except TypeError:
            return JSONRenderer().render(data, media_type, renderer_context)
