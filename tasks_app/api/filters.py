"""Filters of the assignment list (django-filter). Each documents itself in the OpenAPI schema."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tasks_app import search
from tasks_app.models import Assignment, ExtensionRequest, Task, Unit
from tasks_app.status import Status, Timeliness


class AssignmentSyncFilter(django_filters.FilterSet):
    """The assignment filters without `ordering`: the sync's keyset pages have their own order."""

    unit = django_filters.CharFilter(field_name="unit__code", max_length=20, help_text=_("Mã đơn vị, ví dụ 10507."))
    role = django_filters.ChoiceFilter(choices=Assignment.Role.choices)
    status = django_filters.ChoiceFilter(choices=Status.choices)
    timeliness = django_filters.ChoiceFilter(choices=Timeliness.choices, help_text=_("Phân loại tiến độ."))
    task = django_filters.CharFilter(field_name="task__code", max_length=30, help_text=_("Mã nhiệm vụ."))
    group = django_filters.NumberFilter(field_name="task__group_id", min_value=1, max_value=2**31 - 1)
    plan = django_filters.NumberFilter(field_name="task__group__plan_id", min_value=1, max_value=2**31 - 1)
    source_document = django_filters.NumberFilter(
        field_name="task__source_document_id",
        min_value=1,
        max_value=2**31 - 1,
        help_text=_("Văn bản giao nhiệm vụ (id)."),
    )
    due_before = django_filters.DateFilter(
        field_name="deadline", lookup_expr="lte", help_text=_("Thời hạn ≤ ngày này.")
    )
    due_after = django_filters.DateFilter(field_name="deadline", lookup_expr="gte", help_text=_("Thời hạn ≥ ngày này."))
    updated_since = django_filters.IsoDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text=_("Đồng bộ tăng dần: chỉ những phân công thay đổi từ thời điểm này (ISO 8601)."),
    )
    search = django_filters.CharFilter(
        method="filter_search",
        max_length=200,
        help_text=_("Tìm trong mã, tên nhiệm vụ, tên và mã đơn vị; không phân biệt dấu và hoa thường."),
    )

    class Meta:
        model = Assignment
        fields: list[str] = []

    def filter_search(self, queryset, name, value):
        # The tasks and the units are few: two small subqueries, whatever the number of assignments.
        if not search.fold(value).strip():
            return queryset
        tasks = search.matching(Task.objects.all(), value, "code", "title").values("pk")
        units = search.matching(Unit.objects.all(), value, "code", "name").values("pk")
        return queryset.filter(Q(task_id__in=tasks) | Q(unit_id__in=units))


class AssignmentFilter(AssignmentSyncFilter):
    ordering = django_filters.OrderingFilter(
        fields=("deadline", "updated_at", "id", "progress", "status"),
        help_text=_("Sắp xếp; mặc định theo thời hạn. Đồng bộ: dùng assignments/sync/."),
    )

    class Meta:
        model = Assignment
        fields: list[str] = []


class TaskFilter(django_filters.FilterSet):
    group = django_filters.NumberFilter(field_name="group_id", min_value=1, max_value=2**31 - 1)
    plan = django_filters.NumberFilter(field_name="group__plan_id", min_value=1, max_value=2**31 - 1)
    source_document = django_filters.NumberFilter(field_name="source_document_id", min_value=1, max_value=2**31 - 1)
    search = django_filters.CharFilter(method="filter_search", max_length=200)

    class Meta:
        model = Task
        fields: list[str] = []

    def filter_search(self, queryset, name, value):
        return search.matching(queryset, value, "code", "title")


class UnitFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Unit.Kind.choices)
    parent = django_filters.CharFilter(field_name="parent__code", max_length=20)
    search = django_filters.CharFilter(method="filter_search", max_length=200)

    class Meta:
        model = Unit
        fields: list[str] = []

    def filter_search(self, queryset, name, value):
        return search.matching(queryset, value, "code", "name")


class ExtensionRequestFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ExtensionRequest.Status.choices)
    assignment = django_filters.NumberFilter(field_name="assignment_id", min_value=1, max_value=2**63 - 1)

    class Meta:
        model = ExtensionRequest
        fields: list[str] = []
