"""Who is acting, what they may see and what they may do: the one home of these rules.

`actor_scope` reduces a user, an official or an API key to an `ActorScope`. Everything that asks
"may this actor see it?" or "may this actor act on it?" calls a function here: the lifecycle
(which refuses a transition with PermissionDenied), the web pages (which offer only the forms the
actor may use), the API, the admin, KPI and the feeds. `Assignment.objects.visible_to(actor)`
turns `assignment_filter` into a queryset.

This module imports no models at import time (the models import it), so it reads actors by what
they carry: an API key has `is_portal`, a user has `is_authenticated`, anything else is an official.

A province is a wall. The unit tree is nation → province → department or commune: a unit's
province is its parent, or the unit itself when it has no parent (`province_of`). Provincial
leaders, the provincial office and a province's portal key see that province whole
(`province_wide`); only national actors (`national-office`, a national portal key, a superuser)
see across provinces (`sees_all`). An inspector (Thanh tra) reads and inspects every unit's work
of their own province (`inspects_all`, bounded by the wall like `province_wide`). Plans, reminder policies, scoring schemes, holiday overrides,
indicators and rankings carry their province and are filtered by `province_filter`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.db.models import Q

if TYPE_CHECKING:
    from django.http import HttpRequest

    from tasks_app.models import Official


def province_of(unit: Any) -> int | None:
    """The province a unit belongs to: its parent, or itself when it has none (a province)."""
    if unit is None:
        return None
    return unit.parent_id or unit.pk


def province_units(province_id: int) -> Any:
    """The ids of a province's units (itself and its children), as a subquery."""
    Unit = apps.get_model("tasks_app", "Unit")
    return Unit.objects.filter(Q(pk=province_id) | Q(parent_id=province_id)).values("pk")


def in_province(province_id: int, field: str = "province_id") -> Q:
    """Assignments (or rows reaching one through `field`) of a province: the assignment's own
    `province_id`, which the database keeps equal to `province_of(assignment.unit)` (migration
    0007's triggers). One indexed column, so the wall costs no more than the unscoped query
    (bench/scoping.py)."""
    return Q(**{field: province_id})


@dataclass(frozen=True)
class ActorScope:
    # National: sees every province (national-office, a national portal key, a superuser).
    sees_all: bool = False
    # Sees its own province whole (provincial leaders and office, a province's portal key).
    province_wide: bool = False
    unit_id: int | None = None
    official_id: int | None = None
    official: Official | None = None
    user: Any = None
    read_only: bool = False
    label: str = ""
    # An inspector (Thanh tra) sees every unit's work of their province (every province when
    # national) to inspect it, and changes none of it.
    inspects_all: bool = False
    # Where the actor's province comes from: a portal key's province, or the unit of the
    # official or key (`unit_holder.unit`), read only when a rule asks.
    key_province_id: int | None = None
    unit_holder: Any = None

    @property
    def is_superuser(self) -> bool:
        return bool(getattr(self.user, "is_superuser", False))

    @property
    def wide(self) -> bool:
        """Sees more than a unit: a province whole, or every province."""
        return self.sees_all or self.province_wide

    @cached_property
    def province_id(self) -> int | None:
        """The actor's own province (None for national actors and for nobody)."""
        if self.key_province_id is not None:
            return self.key_province_id
        if self.unit_holder is None or self.unit_id is None:
            return None
        return province_of(self.unit_holder.unit)

    def sees_unit(self, unit: Any) -> bool:
        """Whether the actor sees a unit's own pages and figures: national actors see every unit,
        province-wide actors every unit of their province, everybody else their own unit."""
        if unit is None:
            return False
        if self.sees_all:
            return True
        if self.province_wide:
            return province_of(unit) == self.province_id
        return self.unit_id is not None and self.unit_id == unit.pk

    def sees_province(self, province_id: int | None) -> bool:
        """Whether the actor may read what belongs to a province (a plan, a policy, a scheme)."""
        return self.sees_all or (province_id is not None and province_id == self.province_id)


def actor_scope(actor: Any) -> ActorScope:
    """Reduce a user, an official or an API key to what it may see and who it is."""
    if actor is None:
        return ActorScope()
    if hasattr(actor, "is_portal"):  # an API key
        if actor.is_portal:
            province_id = getattr(actor, "province_id", None)
            return ActorScope(
                sees_all=province_id is None,
                province_wide=province_id is not None,
                key_province_id=province_id,
                read_only=True,
                label=f"API: {actor.name}",
            )
        return ActorScope(unit_id=actor.unit_id, unit_holder=actor, label=f"API: {actor.name}")
    if hasattr(actor, "is_authenticated"):  # a user, signed in or anonymous
        if not actor.is_authenticated:
            return ActorScope()
        official = getattr(actor, "official", None) if hasattr(actor, "official") else None
        if official is None:
            return ActorScope(sees_all=actor.is_superuser, user=actor, label=actor.get_username())
        return _official_scope(official, actor, superuser=actor.is_superuser)
    if not hasattr(actor, "is_city_wide"):
        return ActorScope()
    return _official_scope(actor, actor.user, superuser=False)


def _official_scope(official: Official, user: Any, *, superuser: bool) -> ActorScope:
    national = superuser or official.is_national
    return ActorScope(
        sees_all=national,
        province_wide=official.is_city_wide and not national,
        unit_id=official.unit_id,
        official_id=official.pk,
        official=official,
        user=user,
        # The national monitor reads every province and changes nothing.
        read_only=official.is_national and not superuser,
        label=official.full_name,
        unit_holder=official,
        inspects_all=official.is_inspector,
    )


def request_actor(request: HttpRequest) -> Any:
    """The actor of an HTTP request for `visible_to` and the transitions: its API key when it
    authenticated with one (DRF puts it in request.auth), else its user."""
    auth = getattr(request, "auth", None)
    return auth if hasattr(auth, "is_portal") else request.user


# --- who may see ---------------------------------------------------------------------------


def assignment_filter(scope: ActorScope) -> Q | None:
    """The assignments the actor sees, as a filter; None means all of them.

    National actors see everything; provincial leaders, the provincial office and a province's
    portal key see their province's assignments; a unit's officials and a unit key see that
    unit's assignments; an official also sees the assignments they answer for or hold authority
    over. Nobody else sees anything (an empty `Q(pk__in=[])`).
    """
    if scope.sees_all:
        return None
    if scope.province_wide or scope.inspects_all:
        if scope.province_id is None:
            return Q(pk__in=[])
        q = in_province(scope.province_id)
        if scope.official_id is not None:
            q |= Q(responsible_id=scope.official_id) | Q(authority_id=scope.official_id)
        return q
    if scope.unit_id is None and scope.official_id is None:
        return Q(pk__in=[])
    q = Q(unit_id=scope.unit_id) if scope.unit_id is not None else Q()
    if scope.official_id is not None:
        q |= Q(responsible_id=scope.official_id) | Q(authority_id=scope.official_id)
    return q


def unit_filter(scope: ActorScope, field: str = "pk") -> Q | None:
    """The units the actor sees whole (their pages, figures, KPI), as a filter on `field` (a unit
    id); None means all of them."""
    if scope.sees_all:
        return None
    if scope.province_wide:
        if scope.province_id is None:
            return Q(pk__in=[])
        return Q(**{f"{field}__in": province_units(scope.province_id)})
    if scope.unit_id is None:
        return Q(pk__in=[])
    return Q(**{field: scope.unit_id})


def in_province_filter(scope: ActorScope, field: str = "pk") -> Q | None:
    """Units (as a filter on `field`, a unit id) of the actor's own province, whatever the actor's
    role: the unit directory a unit key or a commune official browses. None means all units."""
    if scope.sees_all:
        return None
    if scope.province_id is None:
        return Q(pk__in=[])
    return Q(**{f"{field}__in": province_units(scope.province_id)})


def province_filter(scope: ActorScope, field: str = "province_id") -> Q | None:
    """What belongs to a province (plans, reminder policies, scoring schemes, holiday overrides,
    rankings) that the actor may read: national actors all, everybody else their own province's
    and the national rows (province NULL: the defaults every province inherits)."""
    if scope.sees_all:
        return None
    national_rows = Q(**{f"{field}__isnull": True})
    if scope.province_id is None:
        return national_rows
    return national_rows | Q(**{field: scope.province_id})


def source_document_filter(scope: ActorScope) -> Q | None:
    """The source documents (văn bản giao) the actor may read: those that gave a task of a plan
    the actor sees (`province_filter`); None means all of them. A document another province's
    tasks cite stays behind that province's wall."""
    if scope.sees_all:
        return None
    Task = apps.get_model("tasks_app", "Task")
    plans = province_filter(scope, "group__plan__province_id") or Q()
    return Q(pk__in=Task.objects.filter(plans, source_document__isnull=False).values("source_document_id"))


def sees_assignment(scope: ActorScope, assignment: Any) -> bool:
    """`assignment_filter` for one assignment in memory (the webhooks ask this of each event)."""
    if scope.sees_all:
        return True
    mine = scope.official_id is not None and scope.official_id in (assignment.responsible_id, assignment.authority_id)
    if scope.province_wide or scope.inspects_all:
        return mine or (scope.province_id is not None and province_of(assignment.unit) == scope.province_id)
    return (scope.unit_id is not None and scope.unit_id == assignment.unit_id) or (
        scope.official_id is not None and scope.official_id in (assignment.responsible_id, assignment.authority_id)
    )


def sees_only_own_reminders(scope: ActorScope) -> bool:
    """An official who is not province-wide sees only the reminders addressed to them."""
    return scope.official_id is not None and not scope.wide


def heads_unit(scope: ActorScope) -> bool:
    """Whether the actor is the head of their unit (answers for it and evaluates its officials)."""
    return scope.official is not None and scope.official.is_head


# --- who may act ---------------------------------------------------------------------------


def is_unit_member(scope: ActorScope, assignment: Any) -> bool:
    """The assigned unit (its officials and its key) or the responsible official: may report,
    submit and ask for an extension."""
    return not scope.read_only and (
        (scope.unit_id is not None and scope.unit_id == assignment.unit_id)
        or (scope.official_id is not None and scope.official_id == assignment.responsible_id)
    )


def is_authority(scope: ActorScope, assignment: Any) -> bool:
    """The assignment's authority: accepts, returns, cancels and decides extensions."""
    return not scope.read_only and scope.official_id is not None and scope.official_id == assignment.authority_id


def may_issue(scope: ActorScope, authority_id: int | None, unit: Any = None) -> bool:
    """Who may issue work: its authority, the offices and leaders of the unit's province, or an
    administrator."""
    is_authority_ = scope.official_id is not None and scope.official_id == authority_id
    office = scope.official is not None and scope.official.is_city_wide
    if office and unit is not None:
        office = scope.sees_unit(unit)
    return not scope.read_only and (is_authority_ or scope.is_superuser or office)


def gives_within(scope: ActorScope, unit: Any) -> bool:
    """The province wall for giving work: a task goes only to units of the giver's own province
    (any province for a national actor). Another province's unit is, to the giver, not there (404)."""
    return scope.sees_all or (scope.province_id is not None and province_of(unit) == scope.province_id)


def may_give_tasks(scope: ActorScope) -> bool:
    """Who may open the form that gives a task: the city office and leaders, an administrator, and
    an official who holds authority over some work (who then gives tasks under their own authority:
    `may_issue` decides each one)."""
    if scope.read_only:
        return False
    if scope.is_superuser or (scope.official is not None and scope.official.is_city_wide):
        return True
    official = scope.official
    return official is not None and (
        official.tasks_under_authority.exists() or official.assignments_under_authority.exists()
    )


def may_inspect(scope: ActorScope, assignment: Any) -> bool:
    """Who may record a field inspection of an assignment: the assignment's authority, and the
    office, leaders and inspectors (Thanh tra) of the assignment's province (of any province for a
    national actor); a named official, never a key. A unit never inspects its own work: not its
    officials, not the official who answers for it."""
    official = scope.official
    if scope.read_only or official is None:
        return False
    if official.unit_id == assignment.unit_id or official.pk == assignment.responsible_id:
        return False
    if official.pk == assignment.authority_id:
        return True
    in_province = scope.sees_all or (
        scope.province_id is not None and province_of(assignment.unit) == scope.province_id
    )
    return in_province and (official.is_city_wide or official.is_inspector)


def may_lead_city(scope: ActorScope) -> bool:
    """Province-wide pages and writes (dashboard, recorded rankings, the plan import) within the
    actor's province: not a portal key, not the national monitor."""
    return scope.wide and not scope.read_only


def may_view_nation(scope: ActorScope) -> bool:
    """The national view: the provinces side by side (national actors only)."""
    return scope.sees_all
