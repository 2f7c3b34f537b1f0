"""The six-clears domain: units, officials, plans, tasks and the assignments that track them.

Status rules, the six-clears check and timeliness live in `tasks_app.lifecycle`; the model
methods here call into it so that the web, the API, the admin and the importer share one rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from tasks_app import lifecycle, scope
from tasks_app.status import OPEN, TRACKED, Status, Timeliness


class Unit(models.Model):
    class Kind(models.TextChoices):
        NATION = "nation", _("Toàn quốc")
        CITY = "city", _("Thành phố")
        PROVINCE = "province", _("Tỉnh")
        DEPARTMENT = "department", _("Sở, ban, ngành")
        WARD = "ward", _("Phường")
        COMMUNE = "commune", _("Xã")
        SPECIAL_ZONE = "special_zone", _("Đặc khu")

    # The commune-level kinds: the 114 units a task "for all communes" fans out to.
    COMMUNE_LEVEL = (Kind.WARD, Kind.COMMUNE, Kind.SPECIAL_ZONE)
    # A province of the 34 (a centrally-run city or a province): the root of its unit tree.
    PROVINCE_LEVEL = (Kind.CITY, Kind.PROVINCE)

    code = models.CharField(_("mã"), max_length=20, unique=True)
    name = models.CharField(_("tên"), max_length=200)
    kind = models.CharField(_("loại"), max_length=20, choices=Kind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("đơn vị cấp trên"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    head = models.ForeignKey(
        "Official",
        verbose_name=_("người đứng đầu"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="headed_units",
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("đơn vị")
        verbose_name_plural = _("đơn vị")
        ordering = ["code"]
        indexes = [
            # Fan-out to "all communes" and the leader dashboard's unit table filter by kind.
            models.Index(fields=["kind", "code"], name="unit_kind_code_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_commune_level(self) -> bool:
        return self.kind in self.COMMUNE_LEVEL

    @property
    def province_id(self) -> int | None:
        """The province this unit belongs to (the rule is `scope.province_of`)."""
        return scope.province_of(self)


class Official(models.Model):
    """A named person (a Django user with a profile) who can answer for work."""

    class Role(models.TextChoices):
        MEMBER = "member", _("Cán bộ đơn vị")
        LEADER = "leader", _("Lãnh đạo thành phố")
        OFFICE = "office", _("Văn phòng UBND thành phố (theo dõi)")
        NATIONAL = "national", _("Theo dõi toàn quốc (chỉ đọc)")
        INSPECTOR = "inspector", _("Thanh tra, kiểm tra thực địa")

    # Roles that see their province whole (every unit's assignments in it).
    CITY_WIDE_ROLES = (Role.LEADER, Role.OFFICE)

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="official")
    unit = models.ForeignKey(Unit, verbose_name=_("đơn vị"), on_delete=models.PROTECT, related_name="officials")
    full_name = models.CharField(_("họ và tên"), max_length=200)
    position = models.CharField(_("chức vụ"), max_length=200, blank=True)
    role = models.CharField(_("vai trò"), max_length=20, choices=Role.choices, default=Role.MEMBER)
    phone = models.CharField(_("số điện thoại"), max_length=20, blank=True)
    zalo_user_id = models.CharField(_("Zalo user id"), max_length=64, blank=True)
    language = models.CharField(_("ngôn ngữ"), max_length=8, choices=settings.LANGUAGES, default="vi")
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("cán bộ")
        verbose_name_plural = _("cán bộ")
        ordering = ["full_name"]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.position})" if self.position else self.full_name

    @property
    def email(self) -> str:
        return self.user.email

    @property
    def is_city_wide(self) -> bool:
        return self.role in self.CITY_WIDE_ROLES

    @property
    def is_national(self) -> bool:
        return self.role == self.Role.NATIONAL

    @property
    def is_inspector(self) -> bool:
        """An inspector (e.g. Thanh tra thành phố): sees and inspects every unit's work of their
        province, gives no tasks."""
        return self.role == self.Role.INSPECTOR

    @property
    def is_head(self) -> bool:
        """Heads their unit: answers for its work in KPI and evaluates its officials (reads `unit`)."""
        return self.unit.head_id == self.pk


def _province_fk(related_name: str, *, null: bool = True) -> models.ForeignKey:
    """The province a plan, policy, scheme or holiday belongs to (a unit without a parent)."""
    return models.ForeignKey(
        Unit,
        verbose_name=_("tỉnh, thành phố"),
        null=null,
        blank=null,
        on_delete=models.PROTECT,
        related_name=related_name,
        limit_choices_to={"parent__isnull": True, "kind__in": Unit.PROVINCE_LEVEL},
    )


class PlanQuerySet(models.QuerySet):
    def visible_to(self, actor: Any) -> PlanQuerySet:
        """The plans of the actor's province (all of them for national actors): `scope.province_filter`."""
        q = scope.province_filter(scope.actor_scope(actor))
        return self.all() if q is None else self.filter(q)


class Plan(models.Model):
    # Null only for plans made before provinces: migration 0003 gives them the province of their
    # assignments' units.
    province = _province_fk("plans")
    year = models.PositiveSmallIntegerField(_("năm"))
    name = models.CharField(_("tên kế hoạch"), max_length=300)
    decision_number = models.CharField(_("số quyết định"), max_length=100, blank=True)
    decision_date = models.DateField(_("ngày quyết định"), null=True, blank=True)
    theme = models.CharField(_("chủ đề năm"), max_length=300, blank=True)
    is_sample = models.BooleanField(
        _("nội dung minh họa"),
        default=False,
        help_text=_("Nội dung mẫu, thay bằng phụ lục thật của thành phố khi nhập."),
    )
    # How far an extension may reach: a request beyond it is refused (lifecycle.extension_limit).
    extension_horizon_days = models.PositiveSmallIntegerField(
        _("gia hạn tối đa (ngày sau thời hạn ban đầu)"),
        default=365,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text=_("Một đề nghị gia hạn không được vượt quá số ngày này kể từ thời hạn ban đầu."),
    )
    history = HistoricalRecords()

    objects = PlanQuerySet.as_manager()

    class Meta:
        verbose_name = _("kế hoạch")
        verbose_name_plural = _("kế hoạch")
        ordering = ["-year", "name"]
        constraints = [
            models.UniqueConstraint(fields=["province", "year", "name"], name="plan_province_year_name_uniq")
        ]

    def __str__(self) -> str:
        return self.name


class TaskGroup(models.Model):
    plan = models.ForeignKey(Plan, verbose_name=_("kế hoạch"), on_delete=models.CASCADE, related_name="groups")
    number = models.PositiveSmallIntegerField(_("số thứ tự"))
    title = models.CharField(_("tên nhóm nhiệm vụ, giải pháp"), max_length=500)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("nhóm nhiệm vụ")
        verbose_name_plural = _("nhóm nhiệm vụ")
        ordering = ["plan", "number"]
        constraints = [models.UniqueConstraint(fields=["plan", "number"], name="taskgroup_plan_number_uniq")]

    def __str__(self) -> str:
        return f"{self.number}. {self.title}"


class Indicator(models.Model):
    """One of the plan's key socio-economic indicators (chỉ tiêu). It belongs to its plan's province
    (`Plan.province`): read through `Plan.objects.visible_to`, walled in the admin by
    `plan__province_id`."""

    plan = models.ForeignKey(Plan, verbose_name=_("kế hoạch"), on_delete=models.CASCADE, related_name="indicators")
    number = models.PositiveSmallIntegerField(_("số thứ tự"))
    name = models.CharField(_("tên chỉ tiêu"), max_length=500)
    unit_of_measure = models.CharField(_("đơn vị tính"), max_length=50)
    annual_target = models.DecimalField(_("chỉ tiêu năm"), max_digits=18, decimal_places=3)
    target_note = models.CharField(_("ghi chú chỉ tiêu"), max_length=300, blank=True)
    responsible_unit = models.ForeignKey(
        Unit, verbose_name=_("đơn vị chịu trách nhiệm"), on_delete=models.PROTECT, related_name="indicators"
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("chỉ tiêu")
        verbose_name_plural = _("chỉ tiêu")
        ordering = ["plan", "number"]
        constraints = [models.UniqueConstraint(fields=["plan", "number"], name="indicator_plan_number_uniq")]

    def __str__(self) -> str:
        return f"{self.number}. {self.name}"


class IndicatorActual(models.Model):
    """A quarterly actual of an indicator, reported by its responsible unit."""

    indicator = models.ForeignKey(
        Indicator, verbose_name=_("chỉ tiêu"), on_delete=models.CASCADE, related_name="actuals"
    )
    quarter = models.PositiveSmallIntegerField(_("quý"), validators=[MinValueValidator(1), MaxValueValidator(4)])
    value = models.DecimalField(_("giá trị thực hiện"), max_digits=18, decimal_places=3)
    note = models.TextField(_("ghi chú"), blank=True)
    reported_by = models.ForeignKey(Official, verbose_name=_("người báo cáo"), null=True, on_delete=models.SET_NULL)
    reported_at = models.DateTimeField(_("thời điểm báo cáo"), auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("số liệu thực hiện chỉ tiêu")
        verbose_name_plural = _("số liệu thực hiện chỉ tiêu")
        ordering = ["indicator", "quarter"]
        constraints = [
            models.UniqueConstraint(fields=["indicator", "quarter"], name="indicatoractual_quarter_uniq"),
            models.CheckConstraint(condition=Q(quarter__gte=1, quarter__lte=4), name="indicatoractual_quarter_range"),
        ]

    def __str__(self) -> str:
        return f"{self.indicator} — Q{self.quarter}: {self.value}"


class SourceDocumentQuerySet(models.QuerySet["SourceDocument"]):
    def visible_to(self, actor: Any) -> SourceDocumentQuerySet:
        """The documents behind the plans the actor sees (the rule is `scope.source_document_filter`)."""
        q = scope.source_document_filter(scope.actor_scope(actor))
        return self.all() if q is None else self.filter(q)


class SourceDocument(models.Model):
    """The document a task was given by (văn bản giao nhiệm vụ): a plan decision, a meeting's
    conclusions (thông báo kết luận), a leader's directive."""

    number = models.CharField(_("số, ký hiệu"), max_length=100)
    date = models.DateField(_("ngày ban hành"))
    issuer = models.CharField(_("cơ quan ban hành"), max_length=200)
    summary = models.CharField(_("trích yếu"), max_length=500, blank=True)
    history = HistoricalRecords()

    objects = SourceDocumentQuerySet.as_manager()

    class Meta:
        verbose_name = _("văn bản giao nhiệm vụ")
        verbose_name_plural = _("văn bản giao nhiệm vụ")
        ordering = ["-date", "number"]
        constraints = [models.UniqueConstraint(fields=["number", "date"], name="sourcedocument_number_date_uniq")]

    def __str__(self) -> str:
        return f"{self.number} ngày {self.date:%d/%m/%Y}"


class Task(models.Model):
    """One of the plan's specific tasks: clear task, clear deliverable, clear authority."""

    group = models.ForeignKey(
        TaskGroup, verbose_name=_("nhóm nhiệm vụ"), on_delete=models.PROTECT, related_name="tasks"
    )
    code = models.CharField(_("mã nhiệm vụ"), max_length=30, unique=True)
    number = models.PositiveSmallIntegerField(_("số thứ tự"))
    title = models.CharField(_("nhiệm vụ"), max_length=500)
    description = models.TextField(_("nội dung"), blank=True)
    deliverable = models.CharField(_("sản phẩm"), max_length=500, blank=True)
    acceptance_criteria = models.TextField(_("tiêu chí nghiệm thu"), blank=True)
    default_deadline = models.DateField(_("thời hạn"), null=True, blank=True)
    authority = models.ForeignKey(
        Official,
        verbose_name=_("thẩm quyền"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tasks_under_authority",
    )
    indicator = models.ForeignKey(
        Indicator,
        verbose_name=_("chỉ tiêu liên quan"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
    )
    source_document = models.ForeignKey(
        SourceDocument,
        verbose_name=_("văn bản giao nhiệm vụ"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tasks",
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("nhiệm vụ")
        verbose_name_plural = _("nhiệm vụ")
        ordering = ["group__plan", "number"]

    def __str__(self) -> str:
        return f"{self.code}. {self.title}"


class AssignmentQuerySet(models.QuerySet["Assignment"]):
    def visible_to(self, actor: Any) -> AssignmentQuerySet:
        """Who sees which assignments (the rule is `scope.assignment_filter`); used by the API,
        the pages, the feeds, KPI and reports. `actor` is a user, an official or an API key."""
        q = scope.assignment_filter(scope.actor_scope(actor))
        return self.all() if q is None else self.filter(q)

    def with_timeliness(self, today: dt.date | None = None) -> AssignmentQuerySet:
        """Annotate `timeliness` (one of Timeliness or NULL) in SQL, for many rows in one query."""
        # The ignore: Assignment declares the annotated attributes for their readers, and
        # django-stubs' plugin then takes each annotate() of them for a redefinition.
        return self.annotate(timeliness=lifecycle.timeliness_expression(today))  # type: ignore[no-redef]

    def open(self) -> AssignmentQuerySet:
        return self.filter(status__in=OPEN)

    def tracked(
        self,
        as_of: dt.date | None = None,
        *,
        original_deadline: bool = True,
        due_between: tuple[dt.date, dt.date] | None = None,
    ) -> AssignmentQuerySet:
        """The work that is counted: issued, done or not (no drafts, nothing cancelled), with
        `timeliness` judged as of `as_of` (today by default).

        KPI and reports judge by `kpi_deadline`, the deadline when issued (DESIGN.md: "the original
        deadline is kept for KPI and reports"): an approved extension shows, it does not erase a
        delay; `due_between` keeps the work whose `kpi_deadline` falls in a period (both days
        included). The dashboard passes original_deadline=False: its figures link to the assignment
        list, which judges by the current deadline, and must add up to what the list shows.
        """
        queryset = self.filter(status__in=TRACKED)
        if not original_deadline:
            return queryset.with_timeliness(as_of)
        judged = queryset.annotate(kpi_deadline=Coalesce("original_deadline", "deadline"))  # type: ignore[no-redef]
        if due_between is not None:
            judged = judged.filter(Q(kpi_deadline__gte=due_between[0]) & Q(kpi_deadline__lte=due_between[1]))
        return judged.annotate(timeliness=lifecycle.timeliness_expression(as_of, deadline="kpi_deadline"))  # type: ignore[no-redef]


class Assignment(models.Model):
    """A task given to one unit in one role: the unit of tracking, reminders, API access and KPI."""

    class Role(models.TextChoices):
        LEAD = "lead", _("Chủ trì")
        COORDINATING = "coordinating", _("Phối hợp")

    task = models.ForeignKey(Task, verbose_name=_("nhiệm vụ"), on_delete=models.PROTECT, related_name="assignments")
    unit = models.ForeignKey(Unit, verbose_name=_("đơn vị"), on_delete=models.PROTECT, related_name="assignments")
    role = models.CharField(_("vai trò"), max_length=20, choices=Role.choices, blank=True)
    responsible = models.ForeignKey(
        Official,
        verbose_name=_("cán bộ chịu trách nhiệm"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="responsible_for",
    )
    start_date = models.DateField(_("ngày bắt đầu"), null=True, blank=True)
    deadline = models.DateField(_("thời hạn"), null=True, blank=True)
    # The deadline when first issued: kept for KPI and reports after approved extensions.
    original_deadline = models.DateField(_("thời hạn ban đầu"), null=True, blank=True, editable=False)
    # Blank means "the task's deliverable": a coordinating unit may owe a different product.
    deliverable = models.CharField(_("sản phẩm"), max_length=500, blank=True)
    acceptance_criteria = models.TextField(_("tiêu chí nghiệm thu"), blank=True)
    authority = models.ForeignKey(
        Official,
        verbose_name=_("thẩm quyền"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assignments_under_authority",
    )
    status = models.CharField(_("trạng thái"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    progress = models.PositiveSmallIntegerField(
        _("tiến độ (%)"), default=0, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    issued_at = models.DateTimeField(_("thời điểm giao"), null=True, blank=True, editable=False)
    submitted_at = models.DateTimeField(_("thời điểm nộp sản phẩm"), null=True, blank=True, editable=False)
    completed_at = models.DateTimeField(_("thời điểm hoàn thành"), null=True, blank=True, editable=False)
    return_count = models.PositiveSmallIntegerField(_("số lần trả lại"), default=0, editable=False)
    # Bumped by every change of a stored assignment (the lifecycle's transitions, admin edits; not
    # by creation: fan-out and the importer create at 1): the API's ETag and the web forms'
    # staleness check. tests/test_write_paths.py walks each write path.
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The province of the unit (`scope.province_of(unit)`), kept by the database itself: triggers
    # (migration 0007) set it on every INSERT and UPDATE of an assignment and follow a unit moved
    # to another province, so COPY, raw SQL and bulk writes keep it too. The province wall filters
    # on it (`scope.in_province`): one indexed column instead of a subquery of the province's units.
    province = models.ForeignKey(
        Unit,
        verbose_name=_("tỉnh, thành phố"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    history = HistoricalRecords(excluded_fields=["province"])

    objects = AssignmentQuerySet.as_manager()

    # Annotations some querysets add: `timeliness` (with_timeliness, tracked), `kpi_deadline`
    # (tracked), the KPI figures (kpi.scoring) and the web's `days_overdue`.
    timeliness: str | None
    kpi_deadline: dt.date
    weight: Any
    deduction: Any
    delayed: int
    days_overdue: int
    # Set by the lifecycle on the row it locked, read by its save and by django-simple-history.
    _loaded_status: str
    _history_user: Any
    _history_date: dt.datetime
    _change_reason: str | None

    class Meta:
        verbose_name = _("phân công")
        verbose_name_plural = _("phân công")
        ordering = ["deadline", "id"]
        constraints = [
            models.UniqueConstraint(fields=["task", "unit"], name="assignment_task_unit_uniq"),
            models.CheckConstraint(condition=Q(progress__lte=100), name="assignment_progress_max_100"),
            # The assignment-local clears, as a last line of defence below the model check.
            models.CheckConstraint(
                condition=Q(status=Status.DRAFT)
                | (Q(responsible__isnull=False) & Q(deadline__isnull=False) & Q(authority__isnull=False) & ~Q(role="")),
                name="assignment_issued_has_clears",
            ),
        ]
        indexes = [
            # Used by the reminder sweep: open assignments by deadline.
            models.Index(
                fields=["deadline"],
                name="assignment_open_deadline_idx",
                condition=Q(status__in=OPEN),
            ),
            # The same by the original deadline: the maintained counts' readers find the work that
            # crossed it since their anchor (tasks_app.counts).
            models.Index(
                Coalesce("original_deadline", "deadline"),
                name="assignment_open_kpi_dl_idx",
                condition=Q(status__in=OPEN),
            ),
            # Used by "my work" and the API list of one unit's assignments by status.
            models.Index(fields=["unit", "status", "deadline"], name="assignment_unit_status_idx"),
            # Used by the API's `updated_since` incremental sync.
            models.Index(fields=["updated_at", "id"], name="assignment_updated_idx"),
            # Used by the responsible official's own feeds.
            models.Index(fields=["responsible", "status"], name="assignment_responsible_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.task.code} → {self.unit.name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A guard, not a side effect: nothing that is not a draft is stored without its six clears.
        lifecycle.check_six_clears(self)
        if Assignment.unit.is_cached(self):
            # What the database's trigger stores, kept in memory too when the unit is at hand.
            self.province_id = scope.province_of(self.unit)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        lifecycle.check_six_clears(self)

    # --- the six clears -------------------------------------------------------------------
    @property
    def effective_deliverable(self) -> str:
        return self.deliverable or self.task.deliverable

    @property
    def effective_acceptance_criteria(self) -> str:
        return self.acceptance_criteria or self.task.acceptance_criteria

    def missing_clears(self) -> list[lifecycle.Clear]:
        return lifecycle.missing_clears(self)

    # --- timeliness ------------------------------------------------------------------------
    def get_timeliness(self, today: dt.date | None = None) -> Timeliness | None:
        """The reporting class of this assignment. (Querysets annotate the same rule as
        `timeliness` with `with_timeliness()`, which is why this is not named `timeliness`.)"""
        return lifecycle.timeliness_of(self, today)

    # --- lifecycle transitions (each checks who may make it) -------------------------------
    def issue(self, *, by: Any) -> Assignment:
        return lifecycle.issue(self, by=by)

    def report_progress(
        self,
        *,
        by: Any,
        percent: Any,
        note: str = "",
        links: Iterable[str] = (),
        expected_version: int | str | None = None,
    ) -> ProgressReport:
        return lifecycle.report_progress(
            self, by=by, percent=percent, note=note, links=links, expected_version=expected_version
        )

    def submit(
        self, *, by: Any, note: str = "", links: Iterable[str] = (), expected_version: int | str | None = None
    ) -> ProgressReport:
        return lifecycle.submit(self, by=by, note=note, links=links, expected_version=expected_version)

    def accept(self, *, by: Any, note: str = "", expected_version: int | str | None = None) -> ProgressReport:
        return lifecycle.accept(self, by=by, note=note, expected_version=expected_version)

    def return_(self, *, by: Any, reason: str, expected_version: int | str | None = None) -> ProgressReport:
        return lifecycle.return_(self, by=by, reason=reason, expected_version=expected_version)

    def cancel(self, *, by: Any, reason: str, expected_version: int | str | None = None) -> ProgressReport:
        return lifecycle.cancel(self, by=by, reason=reason, expected_version=expected_version)

    def request_extension(
        self, *, by: Any, requested_deadline: Any, reason: str, expected_version: int | str | None = None
    ) -> ExtensionRequest:
        return lifecycle.request_extension(
            self, by=by, requested_deadline=requested_deadline, reason=reason, expected_version=expected_version
        )


class ScopedByAssignmentQuerySet(models.QuerySet[Any]):
    def visible_to(self, actor: Any) -> ScopedByAssignmentQuerySet:
        """Rows of the assignments the actor may see (the one rule in AssignmentQuerySet)."""
        return self.filter(assignment__in=Assignment.objects.visible_to(actor).values("pk"))


class ProgressReport(models.Model):
    """Append-only record of work on an assignment: progress, submission, acceptance, return."""

    class Kind(models.TextChoices):
        PROGRESS = "progress", _("Báo cáo tiến độ")
        SUBMISSION = "submission", _("Nộp sản phẩm")
        ACCEPTANCE = "acceptance", _("Nghiệm thu")
        RETURN = "return", _("Trả lại")
        CANCELLATION = "cancellation", _("Hủy")

    assignment = models.ForeignKey(
        Assignment, verbose_name=_("phân công"), on_delete=models.CASCADE, related_name="reports"
    )
    kind = models.CharField(_("loại"), max_length=20, choices=Kind.choices, default=Kind.PROGRESS)
    # Null when a machine (a unit's API key) reported; author_label then names the key.
    author = models.ForeignKey(
        Official,
        verbose_name=_("người báo cáo"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reports",
    )
    author_label = models.CharField(_("người/hệ thống báo cáo"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("thời điểm"), auto_now_add=True)
    status = models.CharField(_("trạng thái sau báo cáo"), max_length=20, choices=Status.choices)
    percent = models.PositiveSmallIntegerField(
        _("tiến độ (%)"), validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    note = models.TextField(_("nội dung"), blank=True)

    objects = ScopedByAssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("báo cáo tiến độ")
        verbose_name_plural = _("báo cáo tiến độ")
        ordering = ["assignment", "created_at", "id"]
        indexes = [models.Index(fields=["assignment", "created_at"], name="report_assignment_time_idx")]
        constraints = [models.CheckConstraint(condition=Q(percent__lte=100), name="report_percent_max_100")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.percent}% — {self.created_at:%d/%m/%Y}"


class Evidence(models.Model):
    """A file or a link proving progress or the deliverable. Files are stored outside the web root."""

    report = models.ForeignKey(
        ProgressReport, verbose_name=_("báo cáo"), on_delete=models.CASCADE, related_name="evidence"
    )
    file = models.FileField(_("tệp"), upload_to="evidence/%Y/%m/", blank=True)
    original_name = models.CharField(_("tên tệp"), max_length=255, blank=True)
    content_type = models.CharField(_("kiểu nội dung"), max_length=100, blank=True)
    size = models.PositiveBigIntegerField(_("kích thước"), default=0)
    url = models.URLField(_("đường dẫn"), max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("minh chứng")
        verbose_name_plural = _("minh chứng")
        constraints = [
            models.CheckConstraint(condition=~Q(file="") | ~Q(url=""), name="evidence_file_or_url"),
        ]

    def __str__(self) -> str:
        return self.original_name or self.url or self.file.name


class ExtensionRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Chờ quyết định")
        APPROVED = "approved", _("Đã chấp thuận")
        REJECTED = "rejected", _("Không chấp thuận")

    assignment = models.ForeignKey(
        Assignment, verbose_name=_("phân công"), on_delete=models.CASCADE, related_name="extension_requests"
    )
    requested_by = models.ForeignKey(
        Official, verbose_name=_("người đề nghị"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_by_label = models.CharField(_("người/hệ thống đề nghị"), max_length=200, blank=True)
    requested_at = models.DateTimeField(_("thời điểm đề nghị"), auto_now_add=True)
    current_deadline = models.DateField(_("thời hạn khi đề nghị"))
    requested_deadline = models.DateField(_("thời hạn đề nghị"))
    reason = models.TextField(_("lý do"))
    status = models.CharField(_("trạng thái"), max_length=20, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        Official, verbose_name=_("người quyết định"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("thời điểm quyết định"), null=True, blank=True)
    decision_note = models.TextField(_("ý kiến"), blank=True)
    history = HistoricalRecords()

    objects = ScopedByAssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("đề nghị gia hạn")
        verbose_name_plural = _("đề nghị gia hạn")
        ordering = ["-requested_at", "-id"]
        constraints = [
            # One open request at a time per assignment.
            models.UniqueConstraint(
                fields=["assignment"], condition=Q(status="pending"), name="extension_one_pending_per_assignment"
            ),
            models.CheckConstraint(
                condition=Q(requested_deadline__gt=models.F("current_deadline")), name="extension_extends_deadline"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.assignment_id}: {self.current_deadline:%d/%m/%Y} → {self.requested_deadline:%d/%m/%Y}"

    def decide(self, *, by: Any, approve: bool, note: str = "") -> ExtensionRequest:
        return lifecycle.decide_extension(self, by=by, approve=approve, note=note)


class Inspection(models.Model):
    """A field inspection (kiểm tra thực địa) of an assignment, with its conclusion.

    "Remedy required" gives the unit tracked work of its own (`remedy`): a task and an issued
    assignment with the six clears, reminders and the lifecycle like any other (inspections.py).
    """

    class Conclusion(models.TextChoices):
        PASSED = "passed", _("Đạt")
        FAILED = "failed", _("Chưa đạt")
        REMEDY = "remedy", _("Yêu cầu khắc phục")

    assignment = models.ForeignKey(
        Assignment, verbose_name=_("phân công"), on_delete=models.CASCADE, related_name="inspections"
    )
    date = models.DateField(_("ngày kiểm tra"))
    inspector = models.ForeignKey(
        Official, verbose_name=_("người kiểm tra"), on_delete=models.PROTECT, related_name="+"
    )
    findings = models.TextField(_("kết quả kiểm tra"))
    conclusion = models.CharField(_("kết luận"), max_length=20, choices=Conclusion.choices, blank=True)
    remedy_deadline = models.DateField(_("thời hạn khắc phục"), null=True, blank=True)
    remedy = models.OneToOneField(
        Assignment,
        verbose_name=_("phân công khắc phục"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="remedy_of",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    objects = ScopedByAssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("kiểm tra thực địa")
        verbose_name_plural = _("kiểm tra thực địa")
        ordering = ["-date", "-id"]
        indexes = [
            # The dashboard's "inspected this month" and the meeting report count by date.
            models.Index(fields=["date"], name="inspection_date_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(conclusion="remedy") | Q(remedy_deadline__isnull=False),
                name="inspection_remedy_has_deadline",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date:%d/%m/%Y} — {self.inspector}"


class InspectionPhoto(models.Model):
    """A photo of an inspection, stored re-encoded (no metadata kept but what is read into fields)."""

    inspection = models.ForeignKey(
        Inspection, verbose_name=_("kiểm tra"), on_delete=models.CASCADE, related_name="photos"
    )
    file = models.FileField(_("ảnh"), upload_to="inspections/%Y/%m/")
    caption = models.CharField(_("chú thích"), max_length=300, blank=True)
    original_name = models.CharField(_("tên tệp"), max_length=255, blank=True)
    # Read from the photo's EXIF on the server, when the camera recorded them.
    taken_at = models.DateTimeField(_("thời điểm chụp"), null=True, blank=True)
    latitude = models.DecimalField(_("vĩ độ"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("kinh độ"), max_digits=9, decimal_places=6, null=True, blank=True)
    width = models.PositiveIntegerField(_("rộng (px)"), null=True, blank=True)
    height = models.PositiveIntegerField(_("cao (px)"), null=True, blank=True)

    class Meta:
        verbose_name = _("ảnh kiểm tra")
        verbose_name_plural = _("ảnh kiểm tra")
        ordering = ["inspection", "id"]

    def __str__(self) -> str:
        return self.caption or self.original_name or self.file.name

    @property
    def map_url(self) -> str:
        """A link to the place the photo was taken (OpenStreetMap), or '' without a position."""
        if self.latitude is None or self.longitude is None:
            return ""
        lat, lon = self.latitude, self.longitude
        return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=18/{lat}/{lon}"


class FiguresVersion(models.Model):
    """One row whose number every write of counted work moves (see `tasks_app.figures`)."""

    value = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("phiên bản số liệu")
        verbose_name_plural = _("phiên bản số liệu")

    def __str__(self) -> str:
        return str(self.value)


class CountsAnchor(models.Model):
    """The day the maintained counts class open work against (one row; see `tasks_app.counts`)."""

    as_of = models.DateField()
    time_zone = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("mốc số liệu tổng hợp")
        verbose_name_plural = _("mốc số liệu tổng hợp")

    def __str__(self) -> str:
        return f"{self.as_of} ({self.time_zone})"


class _TimelinessCount(models.Model):
    """A maintained count's class (by the current and by the original deadline) and its signed delta."""

    timeliness = models.CharField(max_length=20)
    kpi_timeliness = models.CharField(max_length=20)
    n = models.BigIntegerField()

    class Meta:
        abstract = True


class UnitCount(_TimelinessCount):
    """Tracked assignments by unit, task group and timeliness (by the current and by the original
    deadline), as signed deltas written by PostgreSQL triggers (`tasks_app.counts`). Plain ids, no
    foreign keys: the triggers write them, nobody else."""

    unit_id = models.BigIntegerField()
    group_id = models.BigIntegerField()

    class Meta:
        verbose_name = _("số liệu tổng hợp theo đơn vị")
        verbose_name_plural = _("số liệu tổng hợp theo đơn vị")

    def __str__(self) -> str:
        return f"{self.unit_id}/{self.group_id}/{self.timeliness}: {self.n}"


class UnitTotal(_TimelinessCount):
    """Tracked assignments by unit and timeliness (both bases): `UnitCount` without the group, what
    the dashboard reads when it is not filtered by group or plan (`tasks_app.counts`)."""

    unit_id = models.BigIntegerField()

    class Meta:
        verbose_name = _("số liệu tổng hợp theo đơn vị (tổng)")
        verbose_name_plural = _("số liệu tổng hợp theo đơn vị (tổng)")

    def __str__(self) -> str:
        return f"{self.unit_id}/{self.timeliness}: {self.n}"


class MonthCount(_TimelinessCount):
    """Tracked assignments by province, task group, timeliness and deadline month (both bases), as
    signed deltas written by PostgreSQL triggers (`tasks_app.counts`)."""

    province_id = models.BigIntegerField()
    group_id = models.BigIntegerField()
    month = models.DateField()
    kpi_month = models.DateField()

    class Meta:
        verbose_name = _("số liệu tổng hợp theo tháng")
        verbose_name_plural = _("số liệu tổng hợp theo tháng")

    def __str__(self) -> str:
        return f"{self.province_id}/{self.group_id}/{self.month}/{self.timeliness}: {self.n}"
