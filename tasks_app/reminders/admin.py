"""The reminders in the admin: the policy per plan, holiday overrides, the ledger (with dead
deliveries and a "send again" action), the sweep's daily digests (read-only: one row per
recipient, channel and day, expanded into the ledger by the senders; a missing address shows here
once per recipient and day) and a preview of what would be sent on a given day."""

import datetime as dt

from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from tasks_app.admin import ProvinceWall
from tasks_app.lifecycle import local_tz
from tasks_app.models import Assignment, Official

from .models import Delivery, DueDigest, FeedItem, FeedToken, HolidayOverride, ReminderPolicy
from .sweep import plan_day

PREVIEW_ROWS = 500


@admin.register(ReminderPolicy)
class ReminderPolicyAdmin(ProvinceWall, admin.ModelAdmin):
    province_of = "province_id"  # the national default (no province) is read, not changed, by a province
    list_display = [
        "__str__",
        "days_before",
        "overdue_first_day",
        "overdue_every",
        "escalate_head_after",
        "escalate_authority_after",
        "send_hour",
        "channels",
    ]


@admin.register(HolidayOverride)
class HolidayOverrideAdmin(ProvinceWall, admin.ModelAdmin):
    province_of = "province_id"  # a national decision (no province) is read, not changed, by a province
    list_display = ["date", "province", "is_working_day", "name"]
    list_filter = ["is_working_day", "province"]
    date_hierarchy = "date"


@admin.register(Delivery)
class DeliveryAdmin(ProvinceWall, admin.ModelAdmin):
    province_unit = "assignment__unit_id"
    list_display = ["day", "assignment", "stage", "recipient", "recipient_role", "channel", "status", "attempts"]
    list_filter = ["status", "channel", "recipient_role", "day"]
    list_select_related = ["assignment__task", "assignment__unit", "recipient"]
    search_fields = ["recipient__full_name", "assignment__task__code", "assignment__unit__name", "last_error"]
    date_hierarchy = "day"
    actions = ["send_again"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    change_list_template = "admin/reminders/delivery_change_list.html"

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Gửi lại các lượt nhắc thất bại đã chọn"))
    def send_again(self, request, queryset):
        count = queryset.filter(status=Delivery.Status.DEAD).update(
            status=Delivery.Status.PENDING, attempts=0, next_attempt_at=timezone.now(), claim_token=""
        )
        self.message_user(request, _("%(n)d lượt nhắc sẽ được gửi lại.") % {"n": count}, messages.SUCCESS)

    def get_urls(self):
        return [
            path("preview/", self.admin_site.admin_view(self.preview_view), name="reminders_delivery_preview"),
            *super().get_urls(),
        ]

    def preview_view(self, request):
        """What the sweep would record on a day (default today), and to whom; sends nothing."""
        day = timezone.localdate(timezone=local_tz())
        error: str | Promise = ""
        if request.GET.get("date"):
            try:
                day = dt.date.fromisoformat(request.GET["date"])
            except ValueError:
                error = _("Ngày không hợp lệ, dùng định dạng YYYY-MM-DD.")
        plan = plan_day(day, force=True)
        due, assignment_count = plan.counts() if plan.working_day else (0, 0)
        # The first rows only: a national-scale day has hundreds of thousands.
        planned = list(plan.rows(limit=PREVIEW_ROWS))
        assignments = Assignment.objects.select_related("task", "unit").in_bulk({p.assignment_id for p in planned})
        officials = Official.objects.in_bulk({p.recipient_id for p in planned})
        rows = [
            {
                "planned": p,
                "assignment": assignments.get(p.assignment_id),
                "recipient": officials.get(p.recipient_id),
            }
            for p in planned
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Nhắc việc sẽ gửi ngày %(d)s") % {"d": day.strftime("%d/%m/%Y")},
            "day": day,
            "plan": plan,
            "due": due,
            "assignment_count": assignment_count,
            "rows": rows,
            "error": error,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/reminders/preview.html", context)


@admin.register(DueDigest)
class DueDigestAdmin(ProvinceWall, admin.ModelAdmin):
    """What the sweep recorded: read-only (the sweep writes it, the senders expand it)."""

    province_unit = "recipient__unit_id"  # the recipient's province: its staff see their own officials' digests
    list_display = ["day", "recipient", "channel", "status", "items", "skip_reason", "expanded_at"]
    list_filter = ["status", "channel", "day"]
    list_select_related = ["recipient"]
    search_fields = ["recipient__full_name", "skip_reason"]
    date_hierarchy = "day"
    readonly_fields = [f.name for f in DueDigest._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(FeedItem)
class FeedItemAdmin(admin.ModelAdmin):
    list_display = ["created_at", "official", "assignment", "stage", "read_at"]
    list_select_related = ["official", "assignment__task", "assignment__unit"]
    list_filter = ["recipient_role"]
    raw_id_fields = ["official", "assignment"]


@admin.register(FeedToken)
class FeedTokenAdmin(admin.ModelAdmin):
    list_display = ["user", "created_at"]
    readonly_fields = ["token", "created_at"]
    actions = ["regenerate"]

    @admin.action(description=_("Tạo khóa mới (vô hiệu hóa địa chỉ lịch cũ)"))
    def regenerate(self, request, queryset):
        for row in queryset:
            row.regenerate()
        self.message_user(request, _("Đã tạo khóa mới."), messages.SUCCESS)
