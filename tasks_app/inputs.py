"""Untrusted values from paths, query strings and JSON bodies: the rules applied before any view
or query sees them (ASVS 5.0 2.2.1). One home, used by the middleware, the API's parser and every
view that reads a number from the query string.

- NUL and other control characters never reach PostgreSQL (it refuses NUL in text: a 500 before);
- an id is ASCII digits only: `"²".isdigit()` is true but `int("²")` fails, and `"٣"` is 3;
- a value longer than any field we have is refused, not searched for;
- a JSON body nested deeper than any we accept is refused before it is parsed (Python's parser
  recurses, and 1,000 levels raise RecursionError).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_PATH_LENGTH = 2048
MAX_QUERY_VALUE_LENGTH = 1000
JSON_MAX_DEPTH = 32
# Bigint ids have at most 18 digits here (the URL patterns' ID_PATTERN says the same).
MAX_ID_DIGITS = 18

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKET = re.compile(r"[\[\]{}]")


def has_control_characters(value: str) -> bool:
    return _CONTROL.search(value) is not None


def is_id(value: object) -> bool:
    """A database id as text: ASCII digits only, that fit a bigint."""
    text = str(value)
    return text.isascii() and text.isdigit() and len(text) <= MAX_ID_DIGITS


def malformed_request_reason(path: str, query: Iterable[tuple[str, list[str]]]) -> str | None:
    """Why this path and query may not reach a view, or None. `query` is QueryDict.lists()."""
    if len(path) > MAX_PATH_LENGTH:
        return str(_("Đường dẫn quá dài."))
    if has_control_characters(path):
        return str(_("Đường dẫn chứa ký tự không hợp lệ."))
    for name, values in query:
        for value in [name, *values]:
            if has_control_characters(value):
                return str(_("Tham số “%(name)s” chứa ký tự không hợp lệ.") % {"name": name[:50]})
            if len(value) > MAX_QUERY_VALUE_LENGTH:
                return str(_("Tham số “%(name)s” quá dài.") % {"name": name[:50]})
        if name == "next" and any(not v.startswith("/") or v.startswith("//") for v in values):
            # Only a local path: an app redirecting to `next` never leaves the site or resolves a name.
            return str(_("Tham số “next” phải là một đường dẫn trong trang."))
    return None


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in a JSON text (strings ignored); no recursion."""
    depth = deepest = 0
    for bracket in _JSON_BRACKET.findall(_JSON_STRING.sub("", text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


class DepthLimitedJSONParser(JSONParser):
    """DRF's JSON parser, refusing NUL-free but absurd bodies: nesting beyond JSON_MAX_DEPTH.

    Its refusals are in the client's language: DRF's own ("JSON parse error - Expecting value:
    line 1 column 13 (char 12)") is English however the request asks, marked for no catalogue."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", "utf-8")
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise invalid_json(_("không đọc được theo bảng mã %(encoding)s") % {"encoding": encoding}) from exc
        if json_depth(text) > JSON_MAX_DEPTH:
            raise ParseError(_("Nội dung JSON lồng quá %(n)d cấp.") % {"n": JSON_MAX_DEPTH})
        try:
            return super().parse(io.BytesIO(raw), media_type, parser_context)
        except ParseError as exc:
            cause = exc.__context__  # DRF raises its ParseError inside `except ValueError`
            if isinstance(cause, json.JSONDecodeError):
                where = {"line": cause.lineno, "column": cause.colno}
                raise invalid_json(_("lỗi cú pháp ở dòng %(line)d, cột %(column)d") % where) from cause
            # The strict parser's refusal of NaN and Infinity, the only other ValueError.
            raise invalid_json(_("NaN và Infinity không phải là số JSON")) from cause


def invalid_json(error: object) -> ParseError:
    return ParseError(_("Nội dung JSON không hợp lệ: %(error)s") % {"error": error})
