"""Error responses: JSON under /api/ (what machines parse), Django's pages elsewhere.

Set as the project's handler400/403/404/500 (accountability/urls.py), so a URL that no API route
matches (`/api/v1/assignments/abc/`) gets the API's JSON 404 and not an HTML page (ASVS 16.5.1).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults

API_PREFIX = "/api/"


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def _json(detail: str, status: int) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status, json_dumps_params={"ensure_ascii": False})


def bad_request(request, exception=None, reason: str = ""):
    if is_api(request):
        return _json(reason or _("Yêu cầu không hợp lệ."), 400)
    if reason:
        return HttpResponse(reason, status=400, content_type="text/plain; charset=utf-8")
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    if is_api(request):
        return _json(_("Bạn không có quyền thực hiện thao tác này."), 403)
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception=None):
    if is_api(request):
        return _json(_("Không tìm thấy."), 404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if is_api(request):
        return _json(_("Lỗi máy chủ; sự cố đã được ghi lại."), 500)
    return defaults.server_error(request)
