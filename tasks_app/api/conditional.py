"""The unchanged assignment list answered early: `GET /api/v1/assignments/` with `If-None-Match`
and a key this worker verified moments ago gets its 304 before the session, CSRF, sign-in,
two-factor, lockout and history middleware and DRF run (none of which a key's request uses).

It applies the same rules as the view, from the same homes: the key as remembered by
`authentication.remembered_key` (refused within API_KEY_CACHE_SECONDS of a revocation, never past
its expiry), the key's budget (`throttling.ApiKeyRateThrottle`, counted here), the ETag of
`stamps.list_etag` over the stamps the view reads. Anything else (no ETag match, a key not
remembered or whose `last_used_at` is due to be written, a session, another path or method) goes
down the whole stack as before. tests/test_api_list_etag.py checks both paths answer alike."""

from __future__ import annotations

from types import SimpleNamespace

from django.db import DEFAULT_DB_ALIAS, router
from django.http import HttpResponseNotModified

from tasks_app.api import stamps
from tasks_app.api.authentication import recently_used, remembered_key
from tasks_app.api.prepared import prepared
from tasks_app.api.throttling import ApiKeyRateThrottle
from tasks_app.scope import actor_scope

LIST_PATH = "/api/v1/assignments/"
LIST_CACHE_CONTROL = "private, no-cache"


def list_etag_for_key(request, api_key) -> str:
    from tasks_app.models import Assignment

    alias = router.db_for_read(Assignment) or DEFAULT_DB_ALIAS
    scopes, identity = stamps.scopes_of(actor_scope(api_key), None)
    with prepared(alias):
        return stamps.list_etag(request, stamps.read(scopes, alias), identity)


def answer_unchanged_lists(get_response):
    def middleware(request):
        if (
            request.path_info != LIST_PATH
            or request.method not in ("GET", "HEAD")
            or "HTTP_IF_NONE_MATCH" not in request.META
        ):
            return get_response(request)
        api_key = remembered_key(request.META.get("HTTP_AUTHORIZATION", ""))
        if api_key is None or not recently_used(api_key):
            return get_response(request)
        tag = list_etag_for_key(request, api_key)
        if not stamps.if_none_match(request, tag):
            return get_response(request)  # not counted here: the view counts it
        if not ApiKeyRateThrottle().allow_request(SimpleNamespace(auth=api_key), None):
            return get_response(request)  # over budget already: DRF answers the 429, with its Retry-After
        response = HttpResponseNotModified()
        response["ETag"] = tag
        response["Cache-Control"] = LIST_CACHE_CONTROL
        return response

    return middleware
