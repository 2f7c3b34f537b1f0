"""KPI rules that change data: who may evaluate whom, who reports an indicator's actuals, and
recording them. The API (`kpi/api.py`) and the pages (`kpi/views.py`) both call these."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from tasks_app.models import Indicator, IndicatorActual, Official, Unit
from tasks_app.scope import ActorScope, actor_scope


def own_units(scope: ActorScope) -> QuerySet[Unit]:
    """The actor's own unit, as a queryset (empty for an actor of no unit)."""
    return Unit.objects.filter(pk__in=[scope.unit_id] if scope.unit_id is not None else [])


def may_evaluate(actor: Any, *, unit: Unit | None = None, official: Official | None = None) -> bool:
    """Units are evaluated by the city (leaders, the office); officials by the city or their unit head."""
    scope = actor_scope(actor)
    if scope.read_only:
        return False
    if scope.sees_all and (scope.official is not None or scope.is_superuser):
        return True
    if official is not None and scope.official is not None:
        head = scope.official
        return official.unit_id == head.unit_id and head.is_head and official.pk != head.pk
    return False


def may_report_actual(actor: Any, indicator: Indicator) -> bool:
    """The indicator's responsible unit (or an administrator) reports its quarterly actuals."""
    scope = actor_scope(actor)
    if scope.read_only:
        return False
    return scope.unit_id == indicator.responsible_unit_id or scope.is_superuser


def save_actual(
    indicator: Indicator, *, actor: Any, quarter: int, value: Any, note: str
) -> tuple[IndicatorActual, bool]:
    """Record (or correct) a quarter's actual; the change history keeps earlier values."""
    scope = actor_scope(actor)
    with transaction.atomic():
        actual = IndicatorActual.objects.select_for_update().filter(indicator=indicator, quarter=quarter).first()
        created = actual is None
        actual = actual or IndicatorActual(indicator=indicator, quarter=quarter)
        actual.value, actual.note, actual.reported_by_id = value, note, scope.official_id
        actual._history_user = scope.user  # type: ignore[attr-defined]
        actual.save()
    return actual, created
