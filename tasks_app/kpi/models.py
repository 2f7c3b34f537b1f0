"""KPI data: the scoring scheme of a plan (versioned), the evaluator's general-criteria points and
recorded rankings.

The scheme is data, not code, because the city's own regulation refines Decree 335/2025's
defaults. A scheme applies from its `effective_from` date; a period is scored by the latest
version in force on the period's first day, so adding a version for a later period never
changes how an earlier period computes. A version used by a recorded ranking cannot be edited.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from tasks_app.models import Official, Plan, Task, Unit


class Rating(models.TextChoices):
    """The four official ratings of Decree 335/2025, best first."""

    EXCELLENT = "excellent", _("Hoàn thành xuất sắc nhiệm vụ")
    GOOD = "good", _("Hoàn thành tốt nhiệm vụ")
    COMPLETE = "complete", _("Hoàn thành nhiệm vụ")
    NOT_COMPLETE = "not_complete", _("Không hoàn thành nhiệm vụ")


# "complete or better": what the leader's unit-results criterion asks of every subordinate.
PASSING_RATINGS: tuple[Rating, ...] = (Rating.EXCELLENT, Rating.GOOD, Rating.COMPLETE)


class Level(models.TextChoices):
    """What is ranked together: the cap on "excellent" applies within one level."""

    COMMUNES = "communes", _("Xã, phường, đặc khu")
    DEPARTMENTS = "departments", _("Sở, ban, ngành")
    OFFICIALS = "officials", _("Cán bộ")


def _points(default: str, **kwargs: Any) -> models.DecimalField:
    return models.DecimalField(
        max_digits=6, decimal_places=2, default=Decimal(default), validators=[MinValueValidator(0)], **kwargs
    )


def _share(default: str, **kwargs: Any) -> models.DecimalField:
    return models.DecimalField(
        max_digits=5, decimal_places=3, default=Decimal(default), validators=[MinValueValidator(0)], **kwargs
    )


class ScoringScheme(models.Model):
    """How a plan's officials and units are scored from a date on (Decree 335/2025 by default).
    It belongs to its plan's province, as do general scores and recorded rankings: each province
    scores and ranks its own plans (walled by `plan__province_id`, scope.province_filter)."""

    plan = models.ForeignKey(Plan, verbose_name=_("kế hoạch"), on_delete=models.CASCADE, related_name="scoring_schemes")
    effective_from = models.DateField(
        _("áp dụng từ ngày"), help_text=_("Áp dụng cho các kỳ bắt đầu từ ngày này cho đến phiên bản sau.")
    )
    name = models.CharField(_("căn cứ"), max_length=300, blank=True, help_text=_("Ví dụ: Nghị định 335/2025/NĐ-CP"))
    general_points_max = _points("30", verbose_name=_("điểm tiêu chí chung tối đa"))
    task_points_max = _points("70", verbose_name=_("điểm kết quả nhiệm vụ tối đa"))
    delay_penalty = _share("0.25", verbose_name=_("trừ mỗi lần chậm (tỷ lệ điểm nhiệm vụ)"))
    return_penalty = _share("0.25", verbose_name=_("trừ mỗi lần bị trả lại (tỷ lệ điểm nhiệm vụ)"))
    excellent_min = _points("90", verbose_name=_("ngưỡng hoàn thành xuất sắc"))
    good_min = _points("70", verbose_name=_("ngưỡng hoàn thành tốt"))
    complete_min = _points("50", verbose_name=_("ngưỡng hoàn thành"))
    excellent_cap = _share(
        "0.20",
        verbose_name=_("tỷ lệ xuất sắc tối đa"),
        help_text=_("Trên số được xếp loại hoàn thành tốt trở lên trong một đơn vị (làm tròn xuống)."),
    )
    leader_full_factor = _share(
        "1.00",
        verbose_name=_("hệ số người đứng đầu khi mọi cấp dưới hoàn thành"),
    )
    leader_partial_factor = _share(
        "0.50",
        verbose_name=_("hệ số người đứng đầu khi có cấp dưới không hoàn thành"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("cách tính điểm KPI")
        verbose_name_plural = _("cách tính điểm KPI")
        ordering = ["plan", "-effective_from"]
        constraints = [
            # One version per plan and date: the version in force on a day is unambiguous.
            models.UniqueConstraint(fields=["plan", "effective_from"], name="scoringscheme_plan_from_uniq"),
            models.CheckConstraint(
                condition=Q(excellent_min__gt=models.F("good_min")) & Q(good_min__gt=models.F("complete_min")),
                name="scoringscheme_thresholds_ordered",
            ),
        ]

    def __str__(self) -> str:
        label = self.name or _t("Cách tính điểm")
        return f"{label} — {self.plan} ({_t('từ')} {self.effective_from:%d/%m/%Y})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A guard, not a side effect: a version behind a recorded ranking is history.
        if self.is_recorded():
            raise ValidationError(
                _t("Cách tính điểm này đã dùng cho bảng xếp hạng đã lưu; hãy thêm phiên bản mới có ngày áp dụng sau.")
            )
        super().save(*args, **kwargs)

    @property
    def total_max(self) -> Decimal:
        return self.general_points_max + self.task_points_max

    def is_recorded(self) -> bool:
        return self.pk is not None and self.rankings.exists()

    def rate(self, score: Decimal | None) -> Rating | None:
        if score is None:
            return None
        if score >= self.excellent_min:
            return Rating.EXCELLENT
        if score >= self.good_min:
            return Rating.GOOD
        if score >= self.complete_min:
            return Rating.COMPLETE
        return Rating.NOT_COMPLETE


class TaskWeight(models.Model):
    """A set weight for a task's assignments under one scheme version (default weight 1)."""

    scheme = models.ForeignKey(
        ScoringScheme, verbose_name=_("cách tính điểm"), on_delete=models.CASCADE, related_name="weights"
    )
    task = models.ForeignKey(Task, verbose_name=_("nhiệm vụ"), on_delete=models.CASCADE, related_name="+")
    weight = models.DecimalField(
        _("trọng số"), max_digits=6, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )

    class Meta:
        verbose_name = _("trọng số nhiệm vụ")
        verbose_name_plural = _("trọng số nhiệm vụ")
        constraints = [
            # Also the lookup of the KPI aggregate's weight subquery (scheme, task).
            models.UniqueConstraint(fields=["scheme", "task"], name="taskweight_scheme_task_uniq"),
            models.CheckConstraint(condition=Q(weight__gt=0), name="taskweight_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.task.code}: {self.weight}"


class GeneralScore(models.Model):
    """Points for the general criteria (political quality, ethics, discipline…), entered by an evaluator."""

    plan = models.ForeignKey(Plan, verbose_name=_("kế hoạch"), on_delete=models.CASCADE, related_name="+")
    period = models.CharField(_("kỳ đánh giá"), max_length=10, help_text=_("2026, 2026-Q1 hoặc 2026-03"))
    unit = models.ForeignKey(
        Unit, verbose_name=_("đơn vị"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    official = models.ForeignKey(
        Official, verbose_name=_("cán bộ"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    points = models.DecimalField(_("điểm"), max_digits=6, decimal_places=2, validators=[MinValueValidator(0)])
    note = models.TextField(_("nhận xét"), blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("người chấm"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    entered_at = models.DateTimeField(_("thời điểm chấm"), auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("điểm tiêu chí chung")
        verbose_name_plural = _("điểm tiêu chí chung")
        ordering = ["plan", "period"]
        constraints = [
            models.CheckConstraint(
                condition=Q(unit__isnull=True, official__isnull=False) | Q(unit__isnull=False, official__isnull=True),
                name="generalscore_one_subject",
            ),
            models.CheckConstraint(condition=Q(points__gte=0), name="generalscore_points_positive"),
            # One entry per subject and period; also the lookup of the KPI's general-points subquery.
            models.UniqueConstraint(
                fields=["plan", "period", "unit"], condition=Q(unit__isnull=False), name="generalscore_unit_uniq"
            ),
            models.UniqueConstraint(
                fields=["plan", "period", "official"],
                condition=Q(official__isnull=False),
                name="generalscore_official_uniq",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.period} — {self.unit or self.official}: {self.points}"


class KpiRanking(models.Model):
    """A ranking as it was recorded (e.g. for the monthly meeting): rows are copied, never recomputed."""

    plan = models.ForeignKey(Plan, verbose_name=_("kế hoạch"), on_delete=models.CASCADE, related_name="+")
    period = models.CharField(_("kỳ đánh giá"), max_length=10)
    level = models.CharField(_("cấp xếp hạng"), max_length=20, choices=Level.choices)
    scheme = models.ForeignKey(
        ScoringScheme, verbose_name=_("cách tính điểm"), null=True, on_delete=models.PROTECT, related_name="rankings"
    )
    as_of = models.DateField(_("số liệu tính đến ngày"))
    recorded_at = models.DateTimeField(_("thời điểm lưu"), auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("người lưu"), null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("bảng xếp hạng đã lưu")
        verbose_name_plural = _("bảng xếp hạng đã lưu")
        ordering = ["-recorded_at", "-id"]
        indexes = [
            # "The latest recorded ranking of this plan, period and level".
            models.Index(fields=["plan", "period", "level", "-recorded_at"], name="kpiranking_lookup_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_level_display()} — {self.period} ({self.recorded_at:%d/%m/%Y %H:%M})"


class KpiRankingRow(models.Model):
    ranking = models.ForeignKey(KpiRanking, on_delete=models.CASCADE, related_name="rows")
    rank = models.PositiveIntegerField(_("hạng"), null=True)
    unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    official = models.ForeignKey(Official, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Copies, so the recorded ranking reads the same after a unit is renamed.
    subject_code = models.CharField(_("mã"), max_length=50)
    subject_name = models.CharField(_("tên"), max_length=300)
    assignments = models.PositiveIntegerField(_("số nhiệm vụ"))
    not_yet_due = models.PositiveIntegerField(default=0)
    on_time = models.PositiveIntegerField(default=0)
    overdue = models.PositiveIntegerField(default=0)
    completed_on_time = models.PositiveIntegerField(default=0)
    completed_late = models.PositiveIntegerField(default=0)
    delays = models.PositiveIntegerField(_("số lần chậm"))
    returns = models.PositiveIntegerField(_("số lần bị trả lại"))
    task_points = models.DecimalField(_("điểm kết quả"), max_digits=6, decimal_places=2, null=True)
    general_points = models.DecimalField(_("điểm tiêu chí chung"), max_digits=6, decimal_places=2, null=True)
    total = models.DecimalField(_("tổng điểm"), max_digits=6, decimal_places=2, null=True)
    rating = models.CharField(_("xếp loại"), max_length=20, choices=Rating.choices, blank=True)
    capped = models.BooleanField(_("hạ do giới hạn 20%"), default=False)

    class Meta:
        verbose_name = _("dòng xếp hạng")
        verbose_name_plural = _("dòng xếp hạng")
        ordering = ["ranking", "rank", "subject_code"]

    def __str__(self) -> str:
        return f"{self.rank}. {self.subject_name}"


class PlanImport(Plan):
    """The admin's entry for uploading a plan appendix (Excel); no table of its own."""

    class Meta:
        proxy = True
        verbose_name = _("nhập phụ lục kế hoạch (Excel)")
        verbose_name_plural = _("nhập phụ lục kế hoạch (Excel)")
