from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from tasks_app.admin import ProvinceWall, SimpleHistoryAdmin
from tasks_app.kpi.models import GeneralScore, KpiRanking, KpiRankingRow, PlanImport, ScoringScheme, TaskWeight


class TaskWeightInline(admin.TabularInline):
    model = TaskWeight
    extra = 0
    autocomplete_fields = ["task"]


@admin.register(ScoringScheme)
class ScoringSchemeAdmin(ProvinceWall, SimpleHistoryAdmin):
    province_of = "plan__province_id"  # a scheme is its plan's, so its province's
    list_display = ["plan", "effective_from", "name", "task_points_max", "delay_penalty", "excellent_cap"]
    list_filter = ["plan"]
    inlines = [TaskWeightInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # A version behind a recorded ranking is history: add a later version instead.
        if obj is not None and obj.is_recorded():
            return [f.name for f in obj._meta.fields]
        return []

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and not (obj is not None and obj.is_recorded())


@admin.register(GeneralScore)
class GeneralScoreAdmin(ProvinceWall, SimpleHistoryAdmin):
    province_of = "plan__province_id"
    list_display = ["period", "unit", "official", "points", "entered_by", "entered_at"]
    list_filter = ["plan", "period"]
    search_fields = ["unit__name", "unit__code", "official__full_name"]
    autocomplete_fields = ["unit", "official"]
    readonly_fields = ["entered_by", "entered_at"]

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        obj.entered_by = request.user
        super().save_model(request, obj, form, change)


class KpiRankingRowInline(admin.TabularInline):
    model = KpiRankingRow
    extra = 0
    can_delete = False
    fields = readonly_fields = (
        "rank", "subject_code", "subject_name", "assignments", "delays", "returns", "total", "rating", "capped",
    )  # fmt: skip

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(KpiRanking)
class KpiRankingAdmin(ProvinceWall, admin.ModelAdmin):
    province_of = "plan__province_id"  # a recorded ranking is its plan's
    list_display = ["period", "level", "plan", "scheme", "as_of", "recorded_at", "recorded_by"]
    list_filter = ["plan", "level", "period"]
    readonly_fields = ["plan", "period", "level", "scheme", "as_of", "recorded_at", "recorded_by"]
    inlines = [KpiRankingRowInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PlanImport)
class PlanImportAdmin(admin.ModelAdmin):
    """Upload a plan appendix: the same checks and all-or-nothing import as `manage.py import_plan`."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser or request.user.has_perm("tasks_app.add_task")

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        from tasks_app.kpi.views import ImportForm, handle_import

        form = ImportForm(request.POST or None, request.FILES or None)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Nhập phụ lục kế hoạch (Excel)"),
            "sample_note": format_html(
                '<a href="{}">{}</a>', reverse("kpi:appendix-export"), _("Tải phụ lục của kế hoạch hiện có")
            ),
        }
        return handle_import(request, form, "admin/kpi/plan_import.html", context)
