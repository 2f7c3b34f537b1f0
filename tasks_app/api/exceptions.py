"""Turns the domain's errors into the API's status codes, in one place for every API view.

The lifecycle raises Django's errors so that the web, the admin and the API share them:
ValidationError → 400 with field-level messages, TransitionError (a ValidationError about the
current state) → 409, StaleVersion (If-Match no longer matches) → 412, PermissionDenied → 403.
Django's `get_object_or_404` (behind DRF's `get_object`) says "No <Model> matches the given query."
in English, a text no catalogue can translate: such a 404 says DRF's "Not found." in the client's
language instead (and names no model); our own 404s keep their messages.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.serializers import as_serializer_error
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from tasks_app.lifecycle import StaleVersion, TransitionError

# The end of the message of django.shortcuts.get_object_or_404 (not marked for translation).
_SHORTCUT_404 = " matches the given query."


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("Thao tác không phù hợp với trạng thái hiện tại.")
    default_code = "conflict"


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = _("Phân công đã thay đổi; hãy tải lại và thử lại.")
    default_code = "stale_version"


def field_errors(exc: DjangoValidationError) -> dict:
    errors = as_serializer_error(exc)
    if "__all__" in errors:
        errors[api_settings.NON_FIELD_ERRORS_KEY] = errors.pop("__all__")
    return errors


def exception_handler(exc, context):
    if isinstance(exc, TransitionError):
        exc = Conflict(" ".join(exc.messages), code=getattr(exc, "code", None) or "conflict")
    elif isinstance(exc, StaleVersion):
        response = drf_exception_handler(PreconditionFailed(str(exc)), context)
        if response is None:  # never: DRF answers every APIException
            return None
        response.data["current_version"] = exc.current_version
        response["ETag"] = f'"{exc.current_version}"'
        return response
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(field_errors(exc))
    elif isinstance(exc, Http404) and str(exc).endswith(_SHORTCUT_404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if isinstance(exc, Conflict) and response is not None:
        response.data["code"] = getattr(exc.detail, "code", None)
    return response
