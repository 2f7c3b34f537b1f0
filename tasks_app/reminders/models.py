"""Reminders as data: the policy per plan, the holiday overrides, the delivery ledger and the in-app feed.

The ledger (`Delivery`) is the truth of what was sent: one row per (assignment, stage, recipient,
channel) under a unique constraint, so nothing is recorded, or sent, twice; senders claim rows with a
conditional update, so two workers never send the same row. The sweep records the day compactly, one
`DueDigest` per (recipient, channel, day), and each sender expands its recipient's digests into
ledger rows before claiming (issue 14).
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tasks_app import scope


def _default_days_before():
    return [7, 3, 1, 0]


def _default_channels():
    return ["email", "zalo", "feed"]


# A ledger row whose stage is "notice-<kind>@<id>" is a handoff notice (issue 11: work submitted,
# returned, accepted, an extension requested or decided), not a deadline reminder: it goes through
# the same ledger, sender and channels, as a line of its own under "Thông báo" in the digest.
NOTICE_PREFIX = "notice-"
NOTICE_TEXTS = {
    "submitted": _("đã nộp sản phẩm, chờ nghiệm thu"),
    "returned": _("bị trả lại, cần hoàn thiện"),
    "accepted": _("đã được nghiệm thu"),
    "extension_requested": _("xin gia hạn, chờ quyết định"),
    "extension_decided": _("đã có quyết định về gia hạn"),
}


def notice_stage(kind: str, ref: int | str) -> str:
    """The stage of a notice row: unique per event, so the ledger's key keeps each notice once."""
    return f"{NOTICE_PREFIX}{kind}@{ref}"


def notice_text(stage: str) -> str:
    """A notice row's text ('' for a reminder's stage), in the active language."""
    if not stage.startswith(NOTICE_PREFIX):
        return ""
    kind = stage[len(NOTICE_PREFIX) :].split("@", 1)[0]
    return str(NOTICE_TEXTS.get(kind, kind))


class Channel(models.TextChoices):
    EMAIL = "email", _("Thư điện tử")
    ZALO = "zalo", _("Zalo OA")
    ZNS = "zns", _("Zalo ZNS")
    FEED = "feed", _("Thông báo trong hệ thống")


class RecipientRole(models.TextChoices):
    RESPONSIBLE = "responsible", _("Cán bộ chịu trách nhiệm")
    HEAD = "head", _("Người đứng đầu đơn vị")
    AUTHORITY = "authority", _("Người có thẩm quyền")


class ReminderPolicy(models.Model):
    """When reminders go out and to whom. One row per plan; a row without a plan is the default of
    its province, and the row with neither is the national default."""

    province = models.ForeignKey(
        "tasks_app.Unit",
        verbose_name=_("tỉnh, thành phố"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        limit_choices_to={"parent__isnull": True},
        help_text=_("Để trống cùng kế hoạch: chính sách mặc định toàn quốc."),
    )
    plan = models.OneToOneField(
        "tasks_app.Plan",
        verbose_name=_("kế hoạch"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="reminder_policy",
        help_text=_("Để trống: chính sách mặc định cho các kế hoạch chưa có chính sách riêng."),
    )
    days_before = models.JSONField(
        _("nhắc trước hạn (ngày)"),
        default=_default_days_before,
        help_text=_("Danh sách số ngày trước hạn, 0 là đúng ngày đến hạn. Ví dụ: [7, 3, 1, 0]."),
    )
    overdue_first_day = models.PositiveSmallIntegerField(_("nhắc quá hạn lần đầu (ngày)"), default=1)
    overdue_every = models.PositiveSmallIntegerField(
        _("nhắc quá hạn lặp lại mỗi (ngày)"), default=3, validators=[MinValueValidator(1)]
    )
    escalate_head_after = models.PositiveSmallIntegerField(_("báo người đứng đầu khi quá hạn từ (ngày)"), default=3)
    escalate_authority_after = models.PositiveSmallIntegerField(
        _("báo người có thẩm quyền khi quá hạn từ (ngày)"), default=7
    )
    send_hour = models.PositiveSmallIntegerField(
        _("giờ gửi"), default=8, validators=[MaxValueValidator(23)], help_text=_("Giờ Việt Nam (Asia/Ho_Chi_Minh).")
    )
    send_until_hour = models.PositiveSmallIntegerField(
        _("không gửi sau (giờ)"),
        default=20,
        validators=[MaxValueValidator(24)],
        help_text=_("Thư gửi lại sau lỗi cũng chỉ đi trong khung giờ này, không gửi ban đêm."),
    )
    channels = models.JSONField(_("kênh"), default=_default_channels, help_text=_("Trong số: email, zalo, zns, feed."))
    max_attempts = models.PositiveSmallIntegerField(
        _("số lần gửi tối đa"), default=6, validators=[MinValueValidator(1), MaxValueValidator(20)]
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("chính sách nhắc việc")
        verbose_name_plural = _("chính sách nhắc việc")

    def __str__(self):
        if self.plan_id is not None:
            return f"{self.plan}"
        if self.province_id is not None:
            return f"{_('Chính sách mặc định')} — {self.province}"
        return str(_("Chính sách mặc định"))

    def clean(self):
        errors: dict[str, Any] = {}
        days = self.days_before
        if not isinstance(days, list) or not all(isinstance(d, int) and 0 <= d <= 365 for d in days):
            errors["days_before"] = _("Phải là danh sách số nguyên từ 0 đến 365, ví dụ [7, 3, 1, 0].")
        channels = self.channels
        if not isinstance(channels, list) or not set(channels) <= set(Channel.values) or not channels:
            errors["channels"] = _("Chọn ít nhất một kênh trong số: %(c)s.") % {"c": ", ".join(Channel.values)}
        if self.overdue_first_day < 1:
            errors["overdue_first_day"] = _("Nhắc quá hạn bắt đầu từ ngày thứ 1 trở đi.")
        if self.send_until_hour <= self.send_hour:
            errors["send_until_hour"] = _("Phải sau giờ gửi.")
        if self.plan is not None and self.province_id is None:
            self.province_id = self.plan.province_id
        if (
            self.plan_id is None
            and ReminderPolicy.objects.filter(plan__isnull=True, province_id=self.province_id)
            .exclude(pk=self.pk)
            .exists()
        ):
            errors["plan"] = _("Đã có chính sách mặc định; hãy sửa chính sách đó hoặc chọn một kế hoạch.")
        if errors:
            raise ValidationError(errors)

    @classmethod
    def default(cls) -> ReminderPolicy:
        """The stored default policy, or the built-in one (unsaved) when none is stored."""
        return cls.objects.filter(plan__isnull=True, province__isnull=True).first() or cls()


class HolidayOverride(models.Model):
    """A date whose working-day status differs from the `holidays` package: a decision of one
    province (its extra day off, its make-up Saturday), or, with no province, a national one
    ("toàn quốc") that every province follows unless it decided otherwise for that date. The
    calendar that reads them is `policy.WorkingCalendar.load(province_id)`."""

    province = models.ForeignKey(
        "tasks_app.Unit",
        verbose_name=_("tỉnh, thành phố"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        limit_choices_to={"parent__isnull": True, "kind__in": ("city", "province")},
        help_text=_("Để trống: áp dụng toàn quốc."),
    )
    date = models.DateField(_("ngày"))
    is_working_day = models.BooleanField(_("là ngày làm việc"), help_text=_("Bật: ngày làm bù. Tắt: ngày nghỉ thêm."))
    name = models.CharField(_("lý do"), max_length=200)

    class Meta:
        verbose_name = _("ngày nghỉ/làm bù điều chỉnh")
        verbose_name_plural = _("ngày nghỉ/làm bù điều chỉnh")
        ordering = ["date"]
        constraints = [
            # One decision per date and province, and one national decision per date.
            models.UniqueConstraint(
                fields=["province", "date"], condition=Q(province__isnull=False), name="holiday_province_date_uniq"
            ),
            models.UniqueConstraint(
                fields=["date"], condition=Q(province__isnull=True), name="holiday_national_date_uniq"
            ),
        ]

    def __str__(self):
        where = self.province.name if self.province is not None else _("toàn quốc")
        return f"{self.date:%d/%m/%Y} — {self.name} ({where})"


class Handoff(models.Model):
    """A change of hands on an assignment (submitted, returned, accepted, extension requested or
    decided), recorded in the transaction that made it; its notices are ledger rows (`Delivery`
    with kind "handoff"), so a rolled-back change leaves neither the event nor a notice."""

    class Kind(models.TextChoices):
        SUBMITTED = "submitted", _("Đã nộp sản phẩm")
        RETURNED = "returned", _("Sản phẩm bị trả lại")
        ACCEPTED = "accepted", _("Sản phẩm đã được nghiệm thu")
        EXTENSION_REQUESTED = "extension_requested", _("Đề nghị gia hạn")
        EXTENSION_DECIDED = "extension_decided", _("Quyết định về đề nghị gia hạn")

    assignment = models.ForeignKey(
        "tasks_app.Assignment", verbose_name=_("phân công"), on_delete=models.CASCADE, related_name="handoffs"
    )
    kind = models.CharField(_("loại"), max_length=30, choices=Kind.choices)
    actor = models.ForeignKey(
        "tasks_app.Official",
        verbose_name=_("người thực hiện"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_label = models.CharField(_("người/hệ thống thực hiện"), max_length=200, blank=True)
    # The reason of a return, the note of an acceptance or a decision, the reason for more time.
    note = models.TextField(_("nội dung"), blank=True)
    extension = models.ForeignKey(
        "tasks_app.ExtensionRequest",
        verbose_name=_("đề nghị gia hạn"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    created_at = models.DateTimeField(_("thời điểm"), default=timezone.now)

    class Meta:
        verbose_name = _("chuyển giao")
        verbose_name_plural = _("chuyển giao")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.assignment_id} {self.kind}"

    @property
    def stage(self) -> str:
        """The ledger's stage of this event's notices ("notice-<kind>@<id>"): one row per recipient
        and channel, ever, and the sender words it as a notice."""
        return notice_stage(self.kind, self.pk)


class DeliveryQuerySet(models.QuerySet):
    def visible_to(self, actor) -> DeliveryQuerySet:
        """Deliveries of assignments the actor may see; an official who is not city-wide sees only
        the reminders addressed to them."""
        from tasks_app.models import Assignment

        qs = self.filter(assignment__in=Assignment.objects.visible_to(actor).values("pk"))
        seen_by = scope.actor_scope(actor)
        if scope.sees_only_own_reminders(seen_by):
            qs = qs.filter(recipient_id=seen_by.official_id)
        return qs


class Delivery(models.Model):
    """One reminder of one assignment at one stage to one recipient on one channel: the ledger."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Chờ gửi")
        SENDING = "sending", _("Đang gửi")
        SENT = "sent", _("Đã gửi")
        SKIPPED = "skipped", _("Bỏ qua (không có địa chỉ)")
        DEAD = "dead", _("Gửi thất bại")

    # No index of its own: the unique constraint below starts with the assignment and serves its
    # lookups and cascades; one index fewer to write for each of the sweep's inserted rows.
    # No foreign-key constraint in the database, for this and the recipient (issue 14): its check
    # ran for each inserted row at commit, about as long as the insert itself (bench/ledger_write.py).
    # The sweep inserts only rows it selected from existing assignments and officials; deletions
    # cascade through the ORM (on_delete) and, for raw SQL, through a PostgreSQL statement trigger
    # (reminders migration 0007_i14b_ledger_without_fk_checks), one DELETE per statement.
    assignment = models.ForeignKey(
        "tasks_app.Assignment",
        verbose_name=_("phân công"),
        on_delete=models.CASCADE,
        related_name="reminders",
        db_index=False,
        db_constraint=False,
    )
    # The stage includes the deadline it was computed from ("before-7@2026-06-30"), so an approved
    # extension starts a fresh schedule instead of colliding with the old one's rows.
    stage = models.CharField(_("mốc nhắc"), max_length=40)
    offset_days = models.SmallIntegerField(_("số ngày so với hạn"), help_text=_("Âm: trước hạn; dương: quá hạn."))
    deadline = models.DateField(_("thời hạn"))
    recipient = models.ForeignKey(
        "tasks_app.Official",
        verbose_name=_("người nhận"),
        on_delete=models.CASCADE,
        related_name="reminders",
        db_constraint=False,
    )
    recipient_role = models.CharField(_("vai trò người nhận"), max_length=20, choices=RecipientRole.choices)
    channel = models.CharField(_("kênh"), max_length=10, choices=Channel.choices)
    day = models.DateField(_("ngày nhắc"))
    status = models.CharField(_("trạng thái"), max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(_("thời điểm tạo"), auto_now_add=True)
    next_attempt_at = models.DateTimeField(_("lần gửi tiếp theo"), default=timezone.now)
    claimed_at = models.DateTimeField(_("thời điểm nhận gửi"), null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True, editable=False)
    sent_at = models.DateTimeField(_("thời điểm gửi"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("số lần thử"), default=0)
    last_error = models.TextField(_("lỗi gần nhất"), blank=True)
    provider_id = models.CharField(_("mã tin của kênh"), max_length=200, blank=True)
    # The key of the message that carries the row (a hash of its rows' ids: the e-mail Message-ID and
    # the ZNS tracking_id), set before sending, so a copy sent again carries the same key.
    message_key = models.CharField(_("khóa tin nhắn"), max_length=64, blank=True, editable=False)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        verbose_name = _("lượt nhắc việc")
        verbose_name_plural = _("sổ nhắc việc")
        ordering = ["-day", "-id"]
        constraints = [
            # The ledger's identity: the sweep run twice, or on two workers, creates nothing twice.
            models.UniqueConstraint(
                fields=["assignment", "stage", "recipient", "channel"], name="delivery_assignment_stage_uniq"
            ),
        ]
        indexes = [
            # Used by the dispatcher and the digest sender: pending rows per recipient and channel due now.
            models.Index(
                fields=["recipient", "channel", "next_attempt_at"],
                name="delivery_pending_idx",
                condition=Q(status__in=["pending", "sending"]),
            ),
            # Used by the sweep (the day's rows, the day's pending rows) and the admin's list by day and status.
            models.Index(fields=["day", "status"], name="delivery_day_status_idx"),
        ]

    def __str__(self):
        return f"{self.assignment_id} {self.stage} → {self.recipient_id} ({self.channel})"


class DueDigest(models.Model):
    """What the sweep records (issue 14): that a recipient has reminders on a day on a channel, one
    row per (recipient, channel, day) — about 20,000 rows on a normal day at national scale instead
    of the 188,868 per-assignment rows they stand for, and bounded by officials × channels in the
    worst case.

    The per-assignment ledger (`Delivery`, its unique key (assignment, stage, recipient, channel))
    is kept: a sender, before claiming, expands the recipient's pending digests on its channel into
    `Delivery` rows by the sweep's own statement restricted to that recipient and channel
    (`sweep.expand`), marking them expanded in the same transaction. So the reminders API, the
    feeds and the admin's ledger show a day's pending per-assignment rows only once their digest
    is expanded (normally seconds after the sweep). A channel the recipient has no address on is
    one `skipped` digest with the reason, not one skipped row per assignment. A sweep run again on
    the day reopens an expanded digest when it finds items of it not yet in the ledger (new work, an
    extension's fresh schedule)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Chờ tách thành lượt nhắc")
        EXPANDED = "expanded", _("Đã tách thành lượt nhắc")
        SKIPPED = "skipped", _("Bỏ qua (không có địa chỉ)")

    # No foreign-key check in the database, as for the ledger: deletions cascade through the ORM and,
    # for raw SQL, through the ledger's statement trigger on officials (reminders migration 0008).
    recipient = models.ForeignKey(
        "tasks_app.Official",
        verbose_name=_("người nhận"),
        on_delete=models.CASCADE,
        related_name="due_digests",
        db_index=False,
        db_constraint=False,
    )
    channel = models.CharField(_("kênh"), max_length=10, choices=Channel.choices)
    day = models.DateField(_("ngày nhắc"))
    status = models.CharField(_("trạng thái"), max_length=10, choices=Status.choices, default=Status.PENDING)
    items = models.PositiveIntegerField(
        _("số lượt nhắc"), default=0, help_text=_("Số lượt nhắc (phân công, mốc, vai trò) mà bản tổng hợp đại diện.")
    )
    skip_reason = models.TextField(_("lý do bỏ qua"), blank=True)
    created_at = models.DateTimeField(_("thời điểm tạo"), default=timezone.now)
    expanded_at = models.DateTimeField(_("thời điểm tách"), null=True, blank=True)

    class Meta:
        verbose_name = _("bản tổng hợp nhắc việc trong ngày")
        verbose_name_plural = _("bản tổng hợp nhắc việc trong ngày")
        ordering = ["-day", "-id"]
        constraints = [
            # One digest per recipient, channel and day: the sweep run twice, or on two workers, writes it once.
            models.UniqueConstraint(fields=["recipient", "channel", "day"], name="duedigest_recipient_day_uniq"),
        ]
        indexes = [
            # Used by the sweep's enqueue (a day's pending digests) and the dispatcher (all pending).
            models.Index(
                fields=["day", "recipient", "channel"], name="duedigest_pending_idx", condition=Q(status="pending")
            ),
        ]

    def __str__(self):
        return f"{self.day:%d/%m/%Y} → {self.recipient_id} ({self.channel}): {self.items}"


class FeedItem(models.Model):
    """A reminder in the in-app feed. A later reminder for the same assignment replaces an unread
    earlier one (one unread item per official and assignment)."""

    official = models.ForeignKey(
        "tasks_app.Official", verbose_name=_("cán bộ"), on_delete=models.CASCADE, related_name="feed_items"
    )
    assignment = models.ForeignKey(
        "tasks_app.Assignment", verbose_name=_("phân công"), on_delete=models.CASCADE, related_name="feed_items"
    )
    stage = models.CharField(_("mốc nhắc"), max_length=40)
    offset_days = models.SmallIntegerField(_("số ngày so với hạn"))
    deadline = models.DateField(_("thời hạn"))
    recipient_role = models.CharField(_("vai trò người nhận"), max_length=20, choices=RecipientRole.choices)
    created_at = models.DateTimeField(_("thời điểm"), default=timezone.now)
    read_at = models.DateTimeField(_("đã đọc lúc"), null=True, blank=True)
    # Set for a handoff notice, written at once by tasks_app.reminders.handoffs: such an item
    # stands on its own (with the return's reason) instead of replacing an unread reminder.
    handoff = models.ForeignKey(
        Handoff, verbose_name=_("chuyển giao"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        verbose_name = _("thông báo nhắc việc")
        verbose_name_plural = _("thông báo nhắc việc")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["official", "assignment"],
                condition=Q(read_at__isnull=True, handoff__isnull=True),
                name="feeditem_one_unread_uniq",
            ),
        ]
        indexes = [
            # Used by the notifications page and the unread badge: one official's newest items.
            models.Index(fields=["official", "-created_at"], name="feeditem_official_time_idx"),
        ]

    def __str__(self):
        return f"{self.official_id}: {self.assignment_id} {self.stage}"

    @property
    def notice(self) -> str:
        return notice_text(self.stage)

    def mark_read(self, when: dt.datetime | None = None):
        FeedItem.objects.filter(pk=self.pk, read_at__isnull=True).update(read_at=when or timezone.now())


def _new_token() -> str:
    return secrets.token_urlsafe(32)


class FeedToken(models.Model):
    """The secret in a user's Atom and iCalendar feed URLs; regenerating it revokes the old URLs."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminder_feed")
    token = models.CharField(max_length=64, unique=True, default=_new_token, editable=False)
    created_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("khóa lịch cá nhân")
        verbose_name_plural = _("khóa lịch cá nhân")

    def __str__(self):
        return f"{self.user}"

    def regenerate(self) -> str:
        self.token = _new_token()
        self.save(update_fields=["token", "created_at"])
        return self.token


class OverdueNotice(models.Model):
    """That an assignment passed this deadline: the sweep sends the OVERDUE event once per row."""

    assignment = models.ForeignKey("tasks_app.Assignment", on_delete=models.CASCADE, related_name="+")
    deadline = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["assignment", "deadline"], name="overduenotice_assignment_deadline_uniq")
        ]

    def __str__(self):
        return f"{self.assignment_id} overdue after {self.deadline}"


class ZaloToken(models.Model):
    """The Zalo OA access token in use and the single-use refresh token that replaces it."""

    access_token = models.TextField()
    refresh_token = models.TextField(blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("khóa Zalo OA")
        verbose_name_plural = _("khóa Zalo OA")

    def __str__(self):
        return f"Zalo OA token of {self.updated_at:%d/%m/%Y %H:%M}"
