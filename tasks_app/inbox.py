"""What waits for one official to act ("Việc chờ tôi"), oldest first, and how much of it there is.

- As an authority (rõ thẩm quyền): deliverables submitted for acceptance and extension requests
  awaiting decision, on the assignments they hold authority over.
- As a unit (its officials, and whoever answers for an assignment): returned deliverables with the
  reason, extension requests decided in the last `DECIDED_DAYS` days, overdue open work, and the
  remedy work a field inspection required (issue 16) while it is open and not yet overdue (once
  overdue it is listed as overdue, once).
- The province's office (and an administrator) sees the authorities' queues of its province, by
  authority; the national monitor (read-only) and an administrator see every province's. The wall
  is `scope.unit_filter`'s: an office never sees another province's queue.

Every figure is a fixed number of set-based queries whatever the queue's length: `counts()` costs
two, `queues()` a handful, each list is capped at `LIMIT` rows and says how many there are in all.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from dataclasses import dataclass, field
from typing import Any, cast

from django.db.models import Count, F, Max, Min, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from tasks_app import lifecycle
from tasks_app.models import Assignment, ExtensionRequest, Official, ProgressReport
from tasks_app.scope import ActorScope, actor_scope, unit_filter
from tasks_app.status import Status

# A decided extension stays in the unit's queue this long: long enough to be read, not forever.
DECIDED_DAYS = 14
# The most rows one list of the inbox shows; the count above it says how many there are.
LIMIT = 15
# Overdue work in the unit's queue; returned work is listed (once) with its reason instead.
OVERDUE_STATUSES = (Status.ISSUED, Status.IN_PROGRESS)


def _today() -> dt.date:
    return timezone.localdate(timezone=lifecycle.local_tz())


def _days_since(moment: dt.datetime | dt.date | None, today: dt.date) -> int:
    if moment is None:
        return 0
    if isinstance(moment, dt.datetime):
        moment = timezone.localtime(moment, lifecycle.local_tz()).date()
    return max((today - moment).days, 0)


@dataclass
class Item:
    """One thing waiting: what it is, on which assignment, since when, and what was said."""

    kind: str  # submitted | extension | returned | decided | overdue | remedy
    assignment: Assignment
    since: dt.datetime | dt.date | None
    days: int
    who: str = ""
    note: str = ""
    extension: ExtensionRequest | None = None


@dataclass
class Section:
    items: list[Item] = field(default_factory=list)
    total: int = 0


@dataclass
class Queues:
    decide: Section  # as an authority: accept/return, decide extensions
    unit: Section  # as a unit: returned, decided extensions, overdue
    by_authority: list[dict] | None = None  # the city office's overview
    city: Section | None = None  # the city office: every authority's waiting items

    @property
    def total(self) -> int:
        # The city office's own decisions are part of the city's queue, not counted twice.
        return self.city.total if self.city else self.decide.total + self.unit.total


def _sees_city_queues(scope: ActorScope) -> bool:
    """The office (and the national monitor, and administrators) watch every authority's queue
    within their scope; a leader acts on their own."""
    if scope.official is not None:
        return scope.official.role in (Official.Role.OFFICE, Official.Role.NATIONAL)
    return bool(scope.user is not None and getattr(scope.user, "is_superuser", False))


def _open_remedy(today: dt.date) -> Q:
    """Remedy work a field inspection required (`Inspection.remedy`), open and not yet overdue."""
    return Q(remedy_of__isnull=False, status__in=OVERDUE_STATUSES) & (Q(deadline__gte=today) | Q(deadline__isnull=True))


def _unit_filter(scope: ActorScope, prefix: str = "") -> Q | None:
    """The assignments the official works on as a unit: their unit's and those they answer for."""
    if scope.read_only or (scope.unit_id is None and scope.official_id is None):
        return None
    q = Q()
    if scope.unit_id is not None:
        q |= Q(**{f"{prefix}unit_id": scope.unit_id})
    if scope.official_id is not None:
        q |= Q(**{f"{prefix}responsible_id": scope.official_id})
    return q


def _city_filter(scope: ActorScope, prefix: str = "") -> Q:
    """The office's watch: every assignment of the units it sees (its province; all for national actors)."""
    return unit_filter(scope, f"{prefix}unit_id") or Q()


def _authority_filter(scope: ActorScope, prefix: str = "", *, city: bool = False) -> Q | None:
    if city:
        return _city_filter(scope, prefix)
    if scope.read_only or scope.official_id is None:
        return None
    return Q(**{f"{prefix}authority_id": scope.official_id})


def counts(actor: Any, today: dt.date | None = None) -> int:
    """The number in the menu: everything in the official's inbox, in two queries."""
    scope = actor_scope(actor)
    today = today or _today()
    city = _sees_city_queues(scope)
    authority, unit = _authority_filter(scope, city=city), _unit_filter(scope)
    if authority is None and unit is None:
        return 0
    a_parts: dict[str, Q] = {}
    if authority is not None:
        a_parts["submitted"] = authority & Q(status=Status.SUBMITTED)
    if unit is not None and not city:
        a_parts["returned"] = unit & Q(status=Status.RETURNED)
        a_parts["overdue"] = unit & Q(status__in=OVERDUE_STATUSES, deadline__lt=today)
        a_parts["remedy"] = unit & _open_remedy(today)
    total = _count_parts(Assignment.objects.order_by(), a_parts)
    e_parts: dict[str, Q] = {}
    if authority is not None:
        e_auth = _authority_filter(scope, "assignment__", city=city) or Q()
        e_parts["pending"] = e_auth & Q(status=ExtensionRequest.Status.PENDING)
    if unit is not None and not city:
        since = timezone.now() - dt.timedelta(days=DECIDED_DAYS)
        e_parts["decided"] = (
            (_unit_filter(scope, "assignment__") or Q())
            & Q(decided_at__gte=since)
            & ~Q(status=ExtensionRequest.Status.PENDING)
        )
    return total + _count_parts(ExtensionRequest.objects.order_by(), e_parts)


def _count_parts(queryset: QuerySet[Any], parts: dict[str, Q]) -> int:
    """The sum of each part's count, in one query that reads only the rows some part counts (the
    parts' union in WHERE, so the indexes serve it: without it the office's menu count scanned
    every assignment of the country on every page, 0.5 s at 1M)."""
    if not parts:
        return 0
    union = functools.reduce(operator.or_, parts.values())
    counted = queryset.filter(union).aggregate(**{name: Count("pk", filter=q) for name, q in parts.items()})
    return sum(v or 0 for v in counted.values())


def _last_return():
    """The newest return of each assignment (its reason, who and when), as subqueries."""
    newest = ProgressReport.objects.filter(assignment=OuterRef("pk"), kind=ProgressReport.Kind.RETURN).order_by(
        "-created_at", "-id"
    )
    return {
        "return_note": Subquery(newest.values("note")[:1]),
        "return_by": Subquery(newest.values("author_label")[:1]),
        "return_at": Subquery(newest.values("created_at")[:1]),
    }


def _assignments() -> QuerySet[Assignment]:
    return Assignment.objects.select_related("task", "unit", "responsible", "authority").order_by()


def _extensions() -> QuerySet[ExtensionRequest]:
    return ExtensionRequest.objects.select_related(
        "assignment__task", "assignment__unit", "assignment__authority", "decided_by"
    ).order_by()


def _decide_section(authority: Q, e_authority: Q, today: dt.date) -> Section:
    submitted = _assignments().filter(authority, status=Status.SUBMITTED)
    pending = _extensions().filter(e_authority, status=ExtensionRequest.Status.PENDING)
    items = [
        Item("submitted", a, a.submitted_at, _days_since(a.submitted_at, today), who=a.unit.name)
        for a in submitted.order_by("submitted_at", "pk")[:LIMIT]
    ] + [
        Item(
            "extension",
            e.assignment,
            e.requested_at,
            _days_since(e.requested_at, today),
            who=e.requested_by_label,
            note=e.reason,
            extension=e,
        )
        for e in pending.order_by("requested_at", "pk")[:LIMIT]
    ]
    items.sort(key=lambda i: (i.since, i.assignment.pk))
    return Section(items[:LIMIT], submitted.count() + pending.count())


def _unit_section(scope: ActorScope, today: dt.date) -> Section:
    unit, e_unit = _unit_filter(scope) or Q(), _unit_filter(scope, "assignment__") or Q()
    returned = _assignments().filter(unit, status=Status.RETURNED).annotate(**_last_return())
    overdue = _assignments().filter(unit, status__in=OVERDUE_STATUSES, deadline__lt=today)
    remedy = _assignments().filter(unit, _open_remedy(today)).select_related("remedy_of__inspector")
    since = timezone.now() - dt.timedelta(days=DECIDED_DAYS)
    decided = _extensions().filter(e_unit, decided_at__gte=since).exclude(status=ExtensionRequest.Status.PENDING)
    items = []
    for a in returned.order_by("return_at", "pk")[:LIMIT]:
        at, by, note = a.return_at, a.return_by, a.return_note  # type: ignore[attr-defined]  # annotations
        items.append(Item("returned", a, at, _days_since(at, today), who=by or "", note=note or ""))
    items += [
        Item(
            "decided",
            e.assignment,
            e.decided_at,
            _days_since(e.decided_at, today),
            who=str(e.decided_by or ""),
            note=e.decision_note,
            extension=e,
        )  # fmt: skip
        for e in decided.order_by("decided_at", "pk")[:LIMIT]
    ]
    # Overdue since the day after the deadline: the oldest deadline has waited longest.
    for a in overdue.order_by("deadline", "pk")[:LIMIT]:
        deadline = cast(dt.date, a.deadline)  # filtered on deadline__lt: never null here
        items.append(Item("overdue", a, deadline + dt.timedelta(days=1), (today - deadline).days))
    # Remedy work since its inspection, with what the inspector found.
    for a in remedy.order_by("remedy_of__date", "pk")[:LIMIT]:
        inspection = a.remedy_of  # the reverse one-to-one, filtered non-null
        items.append(
            Item(
                "remedy",
                a,
                inspection.date,
                _days_since(inspection.date, today),
                who=inspection.inspector.full_name,
                note=inspection.findings,
            )
        )
    items.sort(key=lambda i: (-i.days, i.assignment.pk))
    total = returned.count() + decided.count() + overdue.count() + remedy.count()
    return Section(items[:LIMIT], total)


def _by_authority(scope: ActorScope, today: dt.date) -> list[dict]:
    """The city office's overview: per authority, what waits and since when (two GROUP BYs)."""
    rows: dict[int, dict] = {}
    for r in (
        Assignment.objects.filter(_city_filter(scope), status=Status.SUBMITTED)
        .order_by()
        .values("authority_id")
        .annotate(n=Count("pk"), oldest=Min("submitted_at"))
    ):
        rows[r["authority_id"]] = {"submitted": r["n"], "extensions": 0, "oldest": r["oldest"]}
    for r in (
        ExtensionRequest.objects.filter(_city_filter(scope, "assignment__"), status=ExtensionRequest.Status.PENDING)
        .order_by()
        .values(authority_id=F("assignment__authority_id"))
        .annotate(n=Count("pk"), oldest=Min("requested_at"), newest=Max("requested_at"))
    ):
        row = rows.setdefault(r["authority_id"], {"submitted": 0, "extensions": 0, "oldest": r["oldest"]})
        row["extensions"] = r["n"]
        row["oldest"] = min(row["oldest"], r["oldest"]) if row["oldest"] else r["oldest"]
    officials = Official.objects.select_related("unit").in_bulk(list(rows))
    result = [
        {"authority": officials.get(pk), **row, "days": _days_since(row["oldest"], today)} for pk, row in rows.items()
    ]
    result.sort(key=lambda r: (-r["days"], -(r["submitted"] + r["extensions"])))
    return result


def queues(actor: Any, today: dt.date | None = None) -> Queues:
    scope = actor_scope(actor)
    today = today or _today()
    city = _sees_city_queues(scope)
    authority = None if city else _authority_filter(scope)
    decide = Section()
    if authority is not None:
        decide = _decide_section(authority, _authority_filter(scope, "assignment__") or Q(), today)
    unit = _unit_section(scope, today) if _unit_filter(scope) is not None and not city else Section()
    result = Queues(decide=decide, unit=unit)
    if city:
        result.by_authority = _by_authority(scope, today)
        result.city = _decide_section(_city_filter(scope), _city_filter(scope, "assignment__"), today)
    return result
