"""JSON shapes of the KPI and indicator API (snake_case, ISO dates)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tasks_app.kpi.models import ScoringScheme
from tasks_app.kpi.scoring import Figure, KpiResult
from tasks_app.models import Assignment, Indicator, IndicatorActual
from tasks_app.status import Timeliness


def _number(value: Any) -> str | None:
    return None if value is None else str(value)


def figure_data(figure: Figure, result: KpiResult, *, detail_url: str) -> dict:
    return {
        "rank": figure.rank,
        "code": figure.code,
        "name": figure.name,
        "assignments": figure.assignments,
        "counts": {t.value: figure.counts.get(t.value, 0) for t in Timeliness},
        "delays": figure.delays,
        "returns": figure.returns,
        "task_points": _number(figure.task_points),
        "general_points": _number(figure.general_points),
        "general_entered": figure.general_entered,
        "leader_factor": _number(figure.leader_factor),
        "total": _number(figure.total),
        "rating": figure.rating or None,
        "rating_label": str(figure.rating_label),
        "capped": figure.capped,
        "drill_down": f"{detail_url}?period={result.period.label}&plan={result.plan.pk}",
    }


def _places(scheme: ScoringScheme, name: str) -> int:
    field = scheme._meta.get_field(name)
    return field.decimal_places if isinstance(field, models.DecimalField) else 0


def result_meta(result: KpiResult) -> dict:
    scheme = result.scheme
    return {
        "plan": {"id": result.plan.pk, "name": result.plan.name, "year": result.plan.year},
        "period": result.period.label,
        "start": result.period.start.isoformat(),
        "end": result.period.end.isoformat(),
        "as_of": result.as_of.isoformat(),
        "level": result.level,
        "scheme": {
            "id": scheme.pk,
            "name": scheme.name,
            "effective_from": scheme.effective_from.isoformat(),
            **{
                # Quantized to the field's places: an unsaved default reads like a stored version.
                name: str(Decimal(getattr(scheme, name)).quantize(Decimal(1).scaleb(-_places(scheme, name))))
                for name in (
                    "general_points_max",
                    "task_points_max",
                    "delay_penalty",
                    "return_penalty",
                    "excellent_min",
                    "good_min",
                    "complete_min",
                    "excellent_cap",
                    "leader_full_factor",
                    "leader_partial_factor",
                )
            },
        },
    }


def assignment_data(assignment: Assignment, points: Decimal | None, kept: Decimal | None) -> dict:
    return {
        "id": assignment.pk,
        "url": reverse("web:assignment", args=[assignment.pk]),
        "task_code": assignment.task.code,
        "task": assignment.task.title,
        "unit": assignment.unit.code,
        "responsible": assignment.responsible.full_name if assignment.responsible else None,
        "status": assignment.status,
        "kpi_deadline": assignment.kpi_deadline.isoformat(),
        "deadline": assignment.deadline.isoformat() if assignment.deadline else None,
        "completed_at": assignment.completed_at.isoformat() if assignment.completed_at else None,
        "timeliness": assignment.timeliness,
        "delayed": bool(assignment.delayed),
        "return_count": assignment.return_count,
        "weight": _number(assignment.weight),
        "points": _number(points),
        "kept_points": _number(kept),
    }


class IndicatorActualSerializer(serializers.ModelSerializer):
    reported_by = serializers.CharField(source="reported_by.full_name", read_only=True, default=None)

    class Meta:
        model = IndicatorActual
        fields = ["quarter", "value", "note", "reported_by", "reported_at"]
        read_only_fields = ["reported_by", "reported_at"]


class IndicatorSerializer(serializers.ModelSerializer):
    responsible_unit = serializers.SerializerMethodField()
    actuals = IndicatorActualSerializer(many=True, read_only=True)
    latest = serializers.SerializerMethodField()

    class Meta:
        model = Indicator
        fields = [
            "id",
            "plan",
            "number",
            "name",
            "unit_of_measure",
            "annual_target",
            "target_note",
            "responsible_unit",
            "actuals",
            "latest",
        ]

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_responsible_unit(self, obj: Indicator) -> dict[str, Any]:
        return {"code": obj.responsible_unit.code, "name": obj.responsible_unit.name}

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_latest(self, obj: Indicator) -> dict[str, Any] | None:
        actuals = list(obj.actuals.all())
        if not actuals:
            return None
        last = actuals[-1]
        ratio = None
        if obj.annual_target:
            ratio = str((Decimal(100) * last.value / obj.annual_target).quantize(Decimal("0.1")))
        return {"quarter": last.quarter, "value": str(last.value), "percent_of_target": ratio}


class ActualInput(serializers.Serializer):
    quarter = serializers.IntegerField(validators=[MinValueValidator(1), MaxValueValidator(4)])
    value = serializers.DecimalField(max_digits=18, decimal_places=3)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class GeneralScoreInput(serializers.Serializer):
    period = serializers.CharField(max_length=10)
    plan = serializers.IntegerField(required=False)
    unit = serializers.CharField(required=False, max_length=20)
    official = serializers.IntegerField(required=False)
    points = serializers.DecimalField(max_digits=6, decimal_places=2, min_value=Decimal(0))
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("unit")) == bool(attrs.get("official")):
            raise serializers.ValidationError({"unit": _("Cần đúng một trong hai: unit hoặc official.")})
        return attrs
