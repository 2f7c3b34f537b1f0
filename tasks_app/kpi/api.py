"""KPI and indicator API: /api/v1/kpi/units/, /kpi/officials/, /kpi/general-scores/, /indicators/.

Authentication and permissions are the project's DRF defaults (session or API key); what a caller
sees is scoped by `visible_figures` / `visible_to`, exactly as on the web pages.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _t
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tasks_app.inputs import is_id
from tasks_app.kpi import scoring
from tasks_app.kpi.actions import may_evaluate, may_report_actual, own_units, save_actual
from tasks_app.kpi.models import GeneralScore, Level
from tasks_app.kpi.serializers import (
    ActualInput,
    GeneralScoreInput,
    IndicatorActualSerializer,
    IndicatorSerializer,
    assignment_data,
    figure_data,
    result_meta,
)
from tasks_app.models import Indicator, Official, Plan, Unit
from tasks_app.scope import ActorScope, actor_scope, heads_unit, request_actor

PERIOD = OpenApiParameter("period", str, required=True, description="2026 | 2026-Q1 | 2026-03")
PLAN = OpenApiParameter("plan", int, description="plan id (default: the latest plan of the period's year)")
LEVEL = OpenApiParameter("level", str, enum=[Level.COMMUNES, Level.DEPARTMENTS])


def _period_and_plan(request: Request) -> tuple[scoring.Period, Plan]:
    try:
        return scoring.period_and_plan(request.query_params)
    except ValueError as exc:
        raise ValidationError({"period": [str(exc)]}) from exc
    except Plan.DoesNotExist as exc:
        raise NotFound(str(exc)) from exc


def _level(request: Request) -> str:
    level = request.query_params.get("level") or Level.COMMUNES
    if level not in (Level.COMMUNES, Level.DEPARTMENTS):
        raise ValidationError({"level": [_t("Cấp không hợp lệ: dùng communes hoặc departments.")]})
    return level


def _unit_level(unit: Unit) -> str:
    return Level.COMMUNES if unit.is_commune_level else Level.DEPARTMENTS


class KpiUnitsView(APIView):
    """Units of a level ranked by KPI for the period."""

    @extend_schema(parameters=[PERIOD, PLAN, LEVEL], responses=OpenApiTypes.OBJECT, operation_id="kpi_units_list")
    def get(self, request: Request) -> Response:
        period, plan = _period_and_plan(request)
        result = scoring.unit_kpi(plan, period, _level(request))
        figures = scoring.visible_figures(result, request_actor(request))
        return Response(
            {
                **result_meta(result),
                "results": [
                    figure_data(f, result, detail_url=reverse("kpi-api:kpi-unit", args=[f.code])) for f in figures
                ],
            }
        )


class KpiUnitDetailView(APIView):
    """One unit's KPI and the assignments behind it."""

    @extend_schema(parameters=[PERIOD, PLAN], responses=OpenApiTypes.OBJECT, operation_id="kpi_unit_retrieve")
    def get(self, request: Request, code: str) -> Response:
        actor = request_actor(request)
        unit = Unit.objects.filter(code=code).first()
        scope = actor_scope(actor)
        if unit is None or not scope.sees_unit(unit.pk):
            raise NotFound(_t("Không tìm thấy đơn vị."))
        period, plan = _period_and_plan(request)
        result = scoring.unit_kpi(plan, period, _unit_level(unit))
        figure = result.find(unit)
        if figure is None:
            raise NotFound(_t("Đơn vị này không được xếp hạng."))
        rows = scoring.assignments_behind(result, figure)
        return Response(
            {
                **result_meta(result),
                "result": figure_data(figure, result, detail_url=request.path),
                "assignments": [assignment_data(*row) for row in rows],
            }
        )


def _officials_units(request: Request, scope: ActorScope) -> QuerySet[Unit] | None:
    code = request.query_params.get("unit")
    if not code:
        return None if scope.sees_all else own_units(scope)
    units = Unit.objects.filter(code=code)
    if not scope.sees_all and not units.filter(pk__in=own_units(scope)).exists():
        raise NotFound(_t("Không tìm thấy đơn vị."))
    return units


class KpiOfficialsView(APIView):
    """Officials ranked by KPI for the period (the cap and the leader rule apply per unit)."""

    @extend_schema(
        parameters=[PERIOD, PLAN, OpenApiParameter("unit", str, description="unit code")],
        responses=OpenApiTypes.OBJECT,
        operation_id="kpi_officials_list",
    )
    def get(self, request: Request) -> Response:
        actor = request_actor(request)
        scope = actor_scope(actor)
        period, plan = _period_and_plan(request)
        result = scoring.official_kpi(plan, period, _officials_units(request, scope))
        figures = scoring.visible_figures(result, actor)
        return Response(
            {
                **result_meta(result),
                "results": [
                    {
                        **figure_data(f, result, detail_url=reverse("kpi-api:kpi-official", args=[f.subject.pk])),
                        "id": f.subject.pk,
                        "unit": f.subject.unit.code,
                        "is_head": f.subject.is_head,
                    }
                    for f in figures
                ],
            }
        )


class KpiOfficialDetailView(APIView):
    @extend_schema(parameters=[PERIOD, PLAN], responses=OpenApiTypes.OBJECT, operation_id="kpi_official_retrieve")
    def get(self, request: Request, pk: int) -> Response:
        actor = request_actor(request)
        official = Official.objects.select_related("unit").filter(pk=pk).first()
        period, plan = _period_and_plan(request)
        if official is None:
            raise NotFound(_t("Không tìm thấy cán bộ."))
        result = scoring.official_kpi(plan, period, Unit.objects.filter(pk=official.unit_id))
        figure = next((f for f in scoring.visible_figures(result, actor) if f.subject.pk == official.pk), None)
        if figure is None:
            raise NotFound(_t("Không tìm thấy cán bộ."))
        rows = scoring.assignments_behind(result, figure)
        return Response(
            {
                **result_meta(result),
                "result": figure_data(figure, result, detail_url=request.path),
                "assignments": [assignment_data(*row) for row in rows],
            }
        )


def _score_data(score: GeneralScore) -> dict:
    return {
        "id": score.pk,
        "plan": score.plan_id,
        "period": score.period,
        "unit": score.unit.code if score.unit else None,
        "official": score.official_id,
        "points": str(score.points),
        "note": score.note,
        "entered_by": score.entered_by.get_username() if score.entered_by else None,
        "entered_at": score.entered_at.isoformat(),
    }


class GeneralScoreView(APIView):
    """The general-criteria points of a period (GET) and entering or correcting them (POST)."""

    @extend_schema(parameters=[PERIOD, PLAN], responses=OpenApiTypes.OBJECT, operation_id="kpi_general_scores_list")
    def get(self, request: Request) -> Response:
        period, plan = _period_and_plan(request)
        scope = actor_scope(request_actor(request))
        scores = GeneralScore.objects.filter(plan=plan, period=period.label).select_related("unit", "entered_by")
        if not scope.sees_all:
            mine = Q(unit_id=scope.unit_id) | Q(official_id=scope.official_id)
            if heads_unit(scope):
                mine |= Q(official__unit_id=scope.unit_id)
            scores = scores.filter(mine) if scope.unit_id or scope.official_id else scores.none()
        return Response({"period": period.label, "plan": plan.pk, "results": [_score_data(s) for s in scores]})

    @extend_schema(request=GeneralScoreInput, responses=OpenApiTypes.OBJECT, operation_id="kpi_general_scores_create")
    def post(self, request: Request) -> Response:
        data = GeneralScoreInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            period = scoring.Period.parse(values["period"])
            plan = scoring.plan_for(period, values.get("plan"))
        except ValueError as exc:
            raise ValidationError({"period": [str(exc)]}) from exc
        except Plan.DoesNotExist as exc:
            raise ValidationError({"plan": [str(exc)]}) from exc
        actor = request_actor(request)
        scope = actor_scope(actor)
        unit = official = None
        if values.get("unit"):
            unit = Unit.objects.filter(code=values["unit"]).first()
            if unit is None or not scope.sees_unit(unit.pk):
                raise NotFound(_t("Không tìm thấy đơn vị."))
        else:
            official = Official.objects.select_related("unit").filter(pk=values["official"]).first()
            if official is None or not scope.sees_unit(official.unit_id):
                raise NotFound(_t("Không tìm thấy cán bộ."))
        if not may_evaluate(actor, unit=unit, official=official):
            raise PermissionDenied(_t("Bạn không có quyền chấm điểm tiêu chí chung cho đối tượng này."))
        maximum = scoring.scheme_for(plan, period).general_points_max
        if values["points"] > maximum:
            raise ValidationError({"points": [_t("Điểm tối đa là %(m)s.") % {"m": maximum}]})
        with transaction.atomic():
            score, created = GeneralScore.objects.select_for_update().update_or_create(
                plan=plan,
                period=period.label,
                unit=unit,
                official=official,
                defaults={"points": values["points"], "note": values["note"], "entered_by": scope.user},
            )
        return Response(_score_data(score), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def indicators() -> QuerySet[Indicator]:
    return Indicator.objects.select_related("responsible_unit").prefetch_related("actuals__reported_by")


@extend_schema(parameters=[PLAN])
class IndicatorListView(ListAPIView):
    """The plan's key indicators: target, responsible unit and quarterly actuals (two queries)."""

    serializer_class = IndicatorSerializer
    pagination_class = None

    def get_queryset(self) -> QuerySet[Indicator]:
        queryset = indicators()
        plan = self.request.query_params.get("plan")
        if plan:
            if not is_id(plan):
                raise ValidationError({"plan": [_t("Mã kế hoạch không hợp lệ.")]})
            queryset = queryset.filter(plan_id=plan)
        return queryset


class IndicatorDetailView(RetrieveAPIView):
    serializer_class = IndicatorSerializer
    queryset = indicators()


@extend_schema(request=ActualInput, responses=IndicatorActualSerializer)
class IndicatorActualView(APIView):
    """The responsible unit reports a quarter's actual: POST /api/v1/indicators/{id}/actuals/."""

    def post(self, request: Request, pk: int) -> Response:
        indicator = get_object_or_404(Indicator, pk=pk)
        actor = request_actor(request)
        if not may_report_actual(actor, indicator):
            raise PermissionDenied(_t("Chỉ đơn vị chịu trách nhiệm mới được báo cáo số liệu của chỉ tiêu này."))
        data = ActualInput(data=request.data)
        data.is_valid(raise_exception=True)
        actual, created = save_actual(indicator, actor=actor, **data.validated_data)
        return Response(
            IndicatorActualSerializer(actual).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )
