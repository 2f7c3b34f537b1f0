from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin as _SimpleHistoryAdmin
from two_factor.admin import AdminSiteOTPRequiredMixin

from tasks_app import lifecycle
from tasks_app.models import (
    Assignment,
    Evidence,
    ExtensionRequest,
    Indicator,
    IndicatorActual,
    Inspection,
    InspectionPhoto,
    Official,
    Plan,
    ProgressReport,
    SourceDocument,
    Task,
    TaskGroup,
    Unit,
)
from tasks_app.scope import actor_scope, in_province_filter, province_filter
from tasks_app.status import Status


class TwoFactorAdminSite(AdminSiteOTPRequiredMixin, admin.AdminSite):
    """The admin only for staff whose session passed a second factor (ASVS 6.3.2). Its own
    password-only login form is replaced by a redirect to the two-factor sign-in."""

    def has_permission(self, request):
        if not settings.ADMIN_REQUIRES_TWO_FACTOR:
            return admin.AdminSite.has_permission(self, request)
        return super().has_permission(request)


class SimpleHistoryAdmin(_SimpleHistoryAdmin):
    """simple_history's admin, with the object id of its history page checked as the admin's own
    pages check theirs: an id that is not one (`²`, which passes isdigit) is a 404, not a 500."""

    def history_view(self, request, object_id, extra_context=None):
        if self.get_object(request, unquote(object_id)) is None:
            raise Http404(_("Không tìm thấy."))
        return super().history_view(request, object_id, extra_context)


# django-two-factor-auth's documented way: the default site (and every registration on it) kept.
admin.site.__class__ = TwoFactorAdminSite
admin.site.site_header = _("Theo dõi nhiệm vụ — sáu rõ")
admin.site.site_title = _("Theo dõi nhiệm vụ")
admin.site.index_title = _("Quản trị")


class ProvinceWall:
    """Staff who are not national (not superusers) see only their own province's rows: the rule
    is scope.py's, on the path to the row's unit (`province_unit`) or its province (`province_of`)."""

    province_unit: str | None = None
    province_of: str | None = None

    def get_queryset(self, request):
        queryset = super().get_queryset(request)  # type: ignore[misc]
        scope = actor_scope(request.user)
        if self.province_unit is not None:
            q = in_province_filter(scope, self.province_unit)
        else:
            q = province_filter(scope, self.province_of or "province_id")
        return queryset if q is None else queryset.filter(q)

    # National rows (no province: the defaults every province inherits, a holiday decided for the
    # whole country) are read by a province's staff, and changed only by national staff. A
    # province's staff add rows for their own province only.

    def _national_row_of_province_staff(self, request, obj) -> bool:
        if obj is None or self.province_unit is not None or actor_scope(request.user).sees_all:
            return False
        value: Any = obj
        for part in (self.province_of or "province_id").split("__"):
            value = getattr(value, part, None)
            if value is None:
                return True
        return False

    def has_change_permission(self, request, obj=None):
        if self._national_row_of_province_staff(request, obj):
            return False
        return super().has_change_permission(request, obj)  # type: ignore[misc]

    def has_delete_permission(self, request, obj=None):
        if self._national_row_of_province_staff(request, obj):
            return False
        return super().has_delete_permission(request, obj)  # type: ignore[misc]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        scope = actor_scope(request.user)
        if db_field.name == "province" and not scope.sees_all:
            kwargs["queryset"] = Unit.objects.filter(pk__in=[scope.province_id] if scope.province_id else [])
            kwargs["required"] = True
        elif db_field.name == "plan" and not scope.sees_all:
            kwargs["queryset"] = Plan.objects.visible_to(request.user).filter(province_id=scope.province_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]


@admin.register(Unit)
class UnitAdmin(ProvinceWall, SimpleHistoryAdmin):
    province_unit = "pk"

    list_display = ["code", "name", "kind", "head"]
    list_filter = ["kind"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["parent", "head"]
    list_select_related = ["head"]


@admin.register(Official)
class OfficialAdmin(ProvinceWall, SimpleHistoryAdmin):
    province_unit = "unit_id"

    list_display = ["full_name", "position", "unit", "role", "phone"]
    list_filter = ["role", "unit__kind"]
    search_fields = ["full_name", "user__username", "user__email", "unit__name", "unit__code"]
    autocomplete_fields = ["user", "unit"]
    list_select_related = ["unit"]


class TaskGroupInline(admin.TabularInline):
    model = TaskGroup
    extra = 0


@admin.register(Plan)
class PlanAdmin(ProvinceWall, SimpleHistoryAdmin):
    province_of = "province_id"

    list_display = ["name", "year", "decision_number", "is_sample"]
    list_filter = ["year", "is_sample"]
    search_fields = ["name", "decision_number"]
    inlines = [TaskGroupInline]


@admin.register(TaskGroup)
class TaskGroupAdmin(ProvinceWall, SimpleHistoryAdmin):
    province_of = "plan__province_id"

    list_display = ["number", "title", "plan"]
    list_filter = ["plan"]
    search_fields = ["title"]


@admin.register(SourceDocument)
class SourceDocumentAdmin(SimpleHistoryAdmin):
    list_display = ["number", "date", "issuer", "summary"]
    search_fields = ["number", "issuer", "summary"]
    date_hierarchy = "date"


@admin.register(Task)
class TaskAdmin(ProvinceWall, SimpleHistoryAdmin):
    province_of = "group__plan__province_id"

    list_display = ["code", "title", "group", "default_deadline", "authority", "source_document"]
    list_filter = ["group__plan", "group", "source_document"]
    search_fields = ["code", "title", "description", "deliverable"]
    autocomplete_fields = ["authority", "indicator", "source_document"]
    list_select_related = ["group", "authority", "source_document"]


class ProgressReportInline(admin.TabularInline):
    model = ProgressReport
    extra = 0
    fields = readonly_fields = ("created_at", "kind", "author", "author_label", "status", "percent", "note")
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False  # append-only, through the lifecycle


@admin.register(Assignment)
class AssignmentAdmin(ProvinceWall, SimpleHistoryAdmin):
    province_unit = "unit_id"

    list_display = ["task", "unit", "role", "responsible", "deadline", "status", "progress", "six_clears"]
    list_filter = ["status", "role", "unit__kind", "task__group__plan", "task__group"]
    search_fields = ["task__code", "task__title", "unit__code", "unit__name", "responsible__full_name"]
    autocomplete_fields = ["task", "unit", "responsible", "authority"]
    list_select_related = ["task", "unit", "unit__head", "responsible", "authority"]
    readonly_fields = [
        "six_clears_detail",
        "original_deadline",
        "issued_at",
        "submitted_at",
        "completed_at",
        "return_count",
        "version",
        "timeliness_label",
    ]
    inlines = [ProgressReportInline]
    actions = ["issue_selected"]
    # Once issued, these change only through the lifecycle: the status by its transitions, the
    # deadline by an approved extension (rõ thời gian), the rest not at all.
    ISSUED_READ_ONLY = ["status", "deadline", "unit", "responsible", "authority", "task", "role"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != Status.DRAFT:
            return [*self.readonly_fields, *self.ISSUED_READ_ONLY]
        # A draft's status changes only through the lifecycle too (the issue action here).
        return [*self.readonly_fields, "status"]

    def save_model(self, request, obj, form, change):
        # The same version the API's ETag and the web forms' staleness check read: an admin edit
        # makes a form or an If-Match made before it stale, as any other change does.
        if change:
            obj.version += 1
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Giao các phân công đã chọn (kiểm tra sáu rõ)"))
    def issue_selected(self, request, queryset):
        issued, refused = 0, []
        for assignment in queryset.select_related("task", "unit").filter(status=Status.DRAFT):
            try:
                lifecycle.issue(assignment, by=request.user)
                issued += 1
            except (ValidationError, PermissionDenied) as exc:
                refused.append(f"{assignment}: {'; '.join(getattr(exc, 'messages', [str(exc)]))}")
        if issued:
            self.message_user(request, _("Đã giao %(n)d phân công.") % {"n": issued}, messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.ERROR)

    @admin.display(description=_("Sáu rõ"))
    def six_clears(self, obj):
        missing = obj.missing_clears()
        if not missing:
            return format_html('<span style="color:#137333">✔ {}</span>', _("đủ"))
        return format_html('<span style="color:#b3261e">✘ {}</span>', ", ".join(c.name_vi for c in missing))

    @admin.display(description=_("Kiểm tra sáu rõ"))
    def six_clears_detail(self, obj):
        if obj.pk is None:
            return "—"
        missing = obj.missing_clears()
        if not missing:
            return _("Đủ sáu rõ: có thể giao.")
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((c.message,) for c in missing)))

    @admin.display(description=_("Phân loại"))
    def timeliness_label(self, obj):
        value = obj.get_timeliness()
        return value.label if value else "—"


class EvidenceInline(admin.TabularInline):
    model = Evidence
    extra = 0


@admin.register(ProgressReport)
class ProgressReportAdmin(ProvinceWall, admin.ModelAdmin):
    province_unit = "assignment__unit_id"

    list_display = ["assignment", "kind", "author", "status", "percent", "created_at"]
    list_filter = ["kind", "status"]
    search_fields = ["assignment__task__code", "assignment__unit__name", "note"]
    list_select_related = ["assignment__task", "assignment__unit", "author"]
    inlines = [EvidenceInline]
    readonly_fields = ["assignment", "kind", "author", "author_label", "status", "percent", "note", "created_at"]


@admin.register(ExtensionRequest)
class ExtensionRequestAdmin(ProvinceWall, SimpleHistoryAdmin):
    province_unit = "assignment__unit_id"

    list_display = ["assignment", "current_deadline", "requested_deadline", "status", "decided_by", "decided_at"]
    list_filter = ["status"]
    search_fields = ["assignment__task__code", "assignment__unit__name", "reason"]
    list_select_related = ["assignment__task", "assignment__unit", "decided_by"]
    # Decided only through the lifecycle (the actions below), which moves the deadline on approval.
    readonly_fields = [
        "assignment",
        "requested_by",
        "current_deadline",
        "requested_deadline",
        "status",
        "decided_by",
        "decided_at",
    ]
    actions = ["approve_selected", "reject_selected"]

    def has_add_permission(self, request):
        return False  # requested by the unit, through the lifecycle

    def _decide(self, request, queryset, *, approve: bool):
        for extension in queryset.filter(status=ExtensionRequest.Status.PENDING):
            try:
                lifecycle.decide_extension(extension, by=request.user, approve=approve)
            except (ValidationError, PermissionDenied) as exc:
                self.message_user(
                    request, f"{extension}: {'; '.join(getattr(exc, 'messages', [str(exc)]))}", messages.ERROR
                )
            else:
                self.message_user(request, _("Đã quyết định: %(e)s") % {"e": extension}, messages.SUCCESS)

    @admin.action(description=_("Chấp thuận các đề nghị gia hạn đã chọn"))
    def approve_selected(self, request, queryset):
        self._decide(request, queryset, approve=True)

    @admin.action(description=_("Không chấp thuận các đề nghị gia hạn đã chọn"))
    def reject_selected(self, request, queryset):
        self._decide(request, queryset, approve=False)


class InspectionPhotoInline(admin.TabularInline):
    """Shown, not added: photos come through the web and the API (tasks_app.photos), which read
    their EXIF time and place and store a copy stripped of every other metadata."""

    model = InspectionPhoto
    extra = 0
    fields = ["file", "original_name", "taken_at", "latitude", "longitude", "width", "height", "caption"]
    readonly_fields = ["file", "original_name", "taken_at", "latitude", "longitude", "width", "height"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Inspection)
class InspectionAdmin(ProvinceWall, SimpleHistoryAdmin):
    province_unit = "assignment__unit_id"

    list_display = ["assignment", "date", "inspector", "conclusion", "remedy"]
    list_filter = ["conclusion"]
    search_fields = ["assignment__task__code", "assignment__unit__name", "findings"]
    autocomplete_fields = ["assignment", "inspector"]
    readonly_fields = ["remedy"]
    inlines = [InspectionPhotoInline]


class IndicatorActualInline(admin.TabularInline):
    model = IndicatorActual
    extra = 0


@admin.register(Indicator)
class IndicatorAdmin(ProvinceWall, SimpleHistoryAdmin):
    province_of = "plan__province_id"

    list_display = ["number", "name", "unit_of_measure", "annual_target", "responsible_unit"]
    list_filter = ["plan"]
    search_fields = ["name"]
    autocomplete_fields = ["responsible_unit"]
    inlines = [IndicatorActualInline]
