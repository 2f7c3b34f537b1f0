"""`Authorization: Bearer <key>` for unit systems and portals; the key object becomes request.auth.

A verified key is kept in the worker's memory for `API_KEY_CACHE_SECONDS` (5 s by default), so a
client's requests cost neither a query nor a SHA-512 each. The bound: a key revoked, expired early
or deleted is refused by every worker within that many seconds (at once by the worker that saved
the change, which forgets it on `post_save`/`post_delete`); a key reaching its `expiry_date` is
refused at that very moment, since no entry outlives its key's expiry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
from typing import cast

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from tasks_app.api.models import ApiKey
from tasks_app.web.middleware import needs_second_factor

# last_used_at is written at most this often per key, so a syncing portal does not write on every read.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
# prefix.secret as djangorestframework-api-key makes them; anything else never reaches the database.
KEY_FORMAT = re.compile(r"[A-Za-z0-9]{1,16}\.[A-Za-z0-9]{1,128}")
# The most verified keys one worker remembers; past that it forgets them all and starts again.
KEY_CACHE_SIZE = 1000

# SHA-256 of the presented key → (the key object, when it was verified, when it is checked again),
# in seconds of the wall clock (time.time, which tests can move). A clock stepped back before the
# moment of verification counts as expired, so no clock step stretches the bound.
_verified: dict[bytes, tuple[ApiKey, float, float]] = {}


def _cache_seconds() -> float:
    return getattr(settings, "API_KEY_CACHE_SECONDS", 5)


def verified_key(key: str) -> ApiKey:
    """The usable key object for a presented key, from memory when verified recently; else
    ApiKey.DoesNotExist. A wrong key is never remembered."""
    digest = hashlib.sha256(key.encode()).digest()
    found = _verified.get(digest)
    now = time.time()
    if found is not None and found[1] <= now < found[2]:
        return found[0]
    api_key = cast(ApiKey, ApiKey.objects.get_from_key(key))
    seconds = _cache_seconds()
    if api_key.expiry_date is not None:  # never remembered past its own expiry
        seconds = min(seconds, (api_key.expiry_date - timezone.now()).total_seconds())
    if seconds > 0:
        if len(_verified) >= KEY_CACHE_SIZE:
            _verified.clear()
        _verified[digest] = (api_key, now, now + seconds)
    else:
        _verified.pop(digest, None)
    return api_key


def remembered_key(header: str) -> ApiKey | None:
    """The key an `Authorization: Bearer` header carries when this worker verified it within its
    bound (no query, no SHA-512: one dictionary look-up); None otherwise."""
    scheme, _sep, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key:
        return None
    found = _verified.get(hashlib.sha256(key.strip().encode()).digest())
    return found[0] if found is not None and found[1] <= time.time() < found[2] else None


def is_remembered(header: str) -> bool:
    return remembered_key(header) is not None


def recently_used(api_key: ApiKey) -> bool:
    """Whether the key's `last_used_at` is recent enough not to be written on this use."""
    return api_key.last_used_at is not None and timezone.now() - api_key.last_used_at <= LAST_USED_RESOLUTION


@receiver(post_save, sender=ApiKey, dispatch_uid="api_forget_changed_key")
@receiver(post_delete, sender=ApiKey, dispatch_uid="api_forget_deleted_key")
def forget_key(sender, instance, **kwargs):
    """A key saved (revoked, renamed, its expiry moved) or deleted is verified again at its next use
    in this worker; the other workers do so within API_KEY_CACHE_SECONDS."""
    for digest, (api_key, _since, _until) in list(_verified.items()):
        if api_key.pk == instance.pk:
            _verified.pop(digest, None)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None  # not ours: the session may still authenticate the request
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Tiêu đề Authorization phải có dạng: Bearer <khóa>."))
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed(_("Khóa API không hợp lệ.")) from exc
        if not KEY_FORMAT.fullmatch(key):
            raise exceptions.AuthenticationFailed(_("Khóa API không hợp lệ."))
        try:
            api_key = verified_key(key)
        except ApiKey.DoesNotExist as exc:
            raise exceptions.AuthenticationFailed(_("Khóa API không hợp lệ, đã bị thu hồi hoặc đã hết hạn.")) from exc
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
            api_key.last_used_at = now
        return AnonymousUser(), api_key

    def authenticate_header(self, request):
        # Makes DRF answer 401 (not 403) to a request with no credentials.
        return f'{self.keyword} realm="api"'


class VerifiedSessionAuthentication(authentication.SessionAuthentication):
    """The web session (with DRF's CSRF check), refused to an official who must sign in with a
    second factor and has not: the same rule as the pages (ASVS 6.3.3), so a password alone never
    reaches the API's writes through the cookie."""

    def authenticate(self, request):
        found = super().authenticate(request)
        if found is not None and needs_second_factor(found[0]):
            raise exceptions.PermissionDenied(
                _("Tài khoản có thẩm quyền phải đăng nhập hai lớp trước khi dùng API bằng phiên đăng nhập.")
            )
        return found

    def enforce_csrf(self, request):
        # DRF's refusal ("CSRF Failed: CSRF token missing.") is English, marked for no catalogue.
        try:
            super().enforce_csrf(request)
        except exceptions.PermissionDenied as exc:
            raise exceptions.PermissionDenied(
                _("Thiếu hoặc sai mã chống giả mạo yêu cầu (CSRF): hãy tải lại trang rồi thử lại.")
            ) from exc


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "API key: `Authorization: Bearer <key>` (manage.py create_api_key).",
        }


class VerifiedSessionScheme(OpenApiAuthenticationExtension):
    target_class = VerifiedSessionAuthentication
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}
