"""API keys of unit systems and city portals, and the webhooks they register.

A key is stored hashed (djangorestframework-api-key: prefix + SHA-512 of the key) and shown once.
A unit key sees and changes its unit's assignments; a portal key sees one province's (or, issued
nationally, every province's) and changes nothing. `scope.actor_scope` reads `is_portal`,
`unit_id`, `province_id` and `name` straight off the key.
"""

from __future__ import annotations

import secrets
import uuid
from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey, BaseAPIKeyManager

from tasks_app import events, scope


class ApiKeyManager(BaseAPIKeyManager):
    def get_usable_keys(self):
        # Expired keys are refused here, so authentication needs one query, not two checks.
        return super().get_usable_keys().filter(Q(expiry_date__isnull=True) | Q(expiry_date__gt=timezone.now()))


class ApiKey(AbstractAPIKey):
    name = models.CharField(_("tên"), max_length=100, help_text=_("Hệ thống nào dùng khóa này."))
    unit = models.ForeignKey(
        "tasks_app.Unit",
        verbose_name=_("đơn vị"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="api_keys",
        help_text=_("Khóa của đơn vị chỉ thấy và cập nhật phân công của đơn vị đó. Để trống cho khóa cổng thông tin."),
    )
    is_portal = models.BooleanField(
        _("khóa cổng thông tin (chỉ đọc)"),
        default=False,
        help_text=_("Thấy mọi phân công của tỉnh, thành phố được cấp (hoặc toàn quốc), không thay đổi gì."),
    )
    province = models.ForeignKey(
        "tasks_app.Unit",
        verbose_name=_("tỉnh, thành phố"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="portal_keys",
        limit_choices_to={"parent__isnull": True},
        help_text=_("Khóa cổng thông tin của một tỉnh, thành phố. Để trống: khóa cổng thông tin toàn quốc."),
    )
    last_used_at = models.DateTimeField(_("lần dùng gần nhất"), null=True, blank=True, editable=False)

    objects: ClassVar[ApiKeyManager] = ApiKeyManager()  # type: ignore[assignment]

    class Meta(AbstractAPIKey.Meta):
        verbose_name = _("khóa API")  # type: ignore[assignment]
        verbose_name_plural = _("khóa API")  # type: ignore[assignment]
        constraints = [
            # A key is either a portal key or a unit's key, never both or neither.
            models.CheckConstraint(
                condition=(Q(is_portal=True) & Q(unit__isnull=True)) | (Q(is_portal=False) & Q(unit__isnull=False)),
                name="apikey_portal_xor_unit",
            ),
            # Only a portal key has a province (a unit key's province is its unit's).
            models.CheckConstraint(
                condition=Q(is_portal=True) | Q(province__isnull=True), name="apikey_province_portal_only"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    """A URL a key holder registered; it receives the events it chose for the assignments its key sees."""

    EVENT_CHOICES = [
        (events.STATUS_CHANGED, _("Trạng thái phân công thay đổi")),
        (events.PROGRESS_REPORTED, _("Báo cáo tiến độ")),
        (events.DEADLINE_CHANGED, _("Thời hạn thay đổi")),
        (events.OVERDUE, _("Quá hạn")),
    ]

    api_key = models.ForeignKey(ApiKey, verbose_name=_("khóa API"), on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(_("địa chỉ nhận"), max_length=1000)
    events = models.JSONField(_("sự kiện"), default=list)
    # Kept in clear because signing needs it; shown to the key holder once, at registration.
    secret = models.CharField(_("khóa ký"), max_length=100, default=new_webhook_secret, editable=False)
    is_active = models.BooleanField(_("đang hoạt động"), default=True)
    created_at = models.DateTimeField(_("thời điểm tạo"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook")
        verbose_name_plural = _("webhook")
        ordering = ["id"]

    def __str__(self):
        return self.url

    def sees(self, assignment) -> bool:
        """Whether this endpoint's key may see the assignment (the rule of `visible_to`)."""
        return scope.sees_assignment(scope.actor_scope(self.api_key), assignment)


class WebhookDelivery(models.Model):
    """One event for one endpoint: the delivery log, and the queue. A worker claims the row with a
    conditional update before sending; a failure pushes `next_attempt_at` back (exponential backoff)
    and the beat's `webhooks.dispatch` re-enqueues every row due, so a message lost with Redis or a
    killed worker only delays the event. After WEBHOOK_MAX_ATTEMPTS the row is dead (admin filter).
    The row keeps the URL it was for, so the log survives the webhook's deletion."""

    endpoint = models.ForeignKey(
        WebhookEndpoint,
        verbose_name=_("webhook"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
    )
    url = models.CharField(_("địa chỉ nhận"), max_length=1000, blank=True)
    event_id = models.UUIDField(_("mã sự kiện"), default=uuid.uuid4, editable=False)
    event = models.CharField(_("sự kiện"), max_length=50)
    assignment_id = models.BigIntegerField(_("phân công"), null=True, blank=True)
    # The exact bytes that are signed and sent, fixed when the event happened.
    body = models.TextField(_("nội dung"))
    created_at = models.DateTimeField(_("thời điểm tạo"), auto_now_add=True)
    claimed_at = models.DateTimeField(_("thời điểm nhận gửi"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("lần gửi tiếp theo"), null=True, blank=True)
    sent_at = models.DateTimeField(_("thời điểm gửi thành công"), null=True, blank=True)
    dead_at = models.DateTimeField(_("thời điểm ngừng gửi"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("số lần gửi"), default=0)
    response_status = models.PositiveSmallIntegerField(_("mã phản hồi"), null=True, blank=True)
    last_error = models.TextField(_("lỗi gần nhất"), blank=True)

    class Meta:
        verbose_name = _("lần gửi webhook")
        verbose_name_plural = _("nhật ký gửi webhook")
        ordering = ["-created_at", "-id"]
        constraints = [
            # One delivery per event per endpoint, whatever retries or re-enqueues happen.
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhookdelivery_endpoint_event_uniq")
        ]
        indexes = [
            # The admin's delivery log and "what is still unsent" for one endpoint.
            models.Index(fields=["endpoint", "sent_at"], name="webhookdelivery_pending_idx"),
            # The dispatcher's query: rows neither sent nor dead, by when they are due.
            models.Index(
                fields=["next_attempt_at"],
                name="webhookdelivery_due_idx",
                condition=models.Q(sent_at__isnull=True, dead_at__isnull=True),
            ),
        ]

    def __str__(self):
        return f"{self.event} → {self.url or self.endpoint_id}"


class ChangeStamp(models.Model):
    """A counter per scope of the assignment list, bumped by the database on every committed change
    of what the list reads (tasks_app/api/stamps.py; migration 0004_i14a_change_stamp): the list's
    ETag, so an unchanged page is answered 304 without being computed.

    Scopes: `all` (any change), `meta` (tasks, task groups, units, officials), `p<id>` (assignments
    of a province's units), `u<id>` (a unit's assignments). Written only by the triggers."""

    scope = models.CharField(max_length=24, primary_key=True)
    n = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("dấu thay đổi")
        verbose_name_plural = _("dấu thay đổi")

    def __str__(self):
        return f"{self.scope}: {self.n}"
