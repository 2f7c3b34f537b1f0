"""Who may call the API at all. What an actor may see or change is decided elsewhere:
`Assignment.objects.visible_to(actor)` scopes reads (outside scope → 404) and the lifecycle
transitions refuse writes the actor may not make (→ 403)."""

from django.utils.translation import gettext_lazy as _
from rest_framework import permissions

from tasks_app.api.models import ApiKey


def has_api_key(request) -> bool:
    return isinstance(request.auth, ApiKey)


class IsAuthenticatedOrApiKey(permissions.BasePermission):
    """A logged-in user (session) or a valid API key; the default for every API view."""

    def has_permission(self, request, view):
        return has_api_key(request) or bool(request.user and request.user.is_authenticated)


class HasApiKey(permissions.BasePermission):
    """Only key holders: webhooks belong to a key."""

    message = _("Chỉ hệ thống có khóa API mới đăng ký được webhook.")

    def has_permission(self, request, view):
        return has_api_key(request)
