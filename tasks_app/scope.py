"""Who is acting, what they may see and what they may do: the one home of these rules.

`actor_scope` reduces a user, an official or an API key to an `ActorScope`. Everything that asks
"may this actor see it?" or "may this actor act on it?" calls a function here: the lifecycle
(which refuses a transition with PermissionDenied), the web pages (which offer only the forms the
actor may use), the API, the admin, KPI and the feeds. `Assignment.objects.visible_to(actor)`
turns `assignment_filter` into a queryset.

This module imports no models (the models import it), so it reads actors by what they carry:
an API key has `is_portal`, a user has `is_authenticated`, anything else is an official.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Q

if TYPE_CHECKING:
    from django.http import HttpRequest

    from tasks_app.models import Official


@dataclass(frozen=True)
class ActorScope:
    sees_all: bool = False
    unit_id: int | None = None
    official_id: int | None = None
    official: Official | None = None
    user: Any = None
    read_only: bool = False
    label: str = ""
    # An inspector (Thanh tra) sees every unit's work to inspect it, and changes none of it.
    inspects_all: bool = False

    @property
    def is_superuser(self) -> bool:
        return bool(getattr(self.user, "is_superuser", False))

    def sees_unit(self, unit_id: int | None) -> bool:
        """Whether the actor sees a unit's own pages and figures: city-wide actors see every unit."""
        return self.sees_all or (unit_id is not None and self.unit_id == unit_id)


def actor_scope(actor: Any) -> ActorScope:
    """Reduce a user, an official or an API key to what it may see and who it is."""
    if actor is None:
        return ActorScope()
    if hasattr(actor, "is_portal"):  # an API key
        if actor.is_portal:
            return ActorScope(sees_all=True, read_only=True, label=f"API: {actor.name}")
        return ActorScope(unit_id=actor.unit_id, label=f"API: {actor.name}")
    if hasattr(actor, "is_authenticated"):  # a user, signed in or anonymous
        if not actor.is_authenticated:
            return ActorScope()
        official = getattr(actor, "official", None) if hasattr(actor, "official") else None
        if official is None:
            return ActorScope(sees_all=actor.is_superuser, user=actor, label=actor.get_username())
        return ActorScope(
            sees_all=actor.is_superuser or official.is_city_wide,
            unit_id=official.unit_id,
            official_id=official.pk,
            official=official,
            user=actor,
            label=official.full_name,
            inspects_all=official.is_inspector,
        )
    if not hasattr(actor, "is_city_wide"):
        return ActorScope()
    official = actor  # an Official
    return ActorScope(
        sees_all=official.is_city_wide,
        unit_id=official.unit_id,
        official_id=official.pk,
        official=official,
        user=official.user,
        label=official.full_name,
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

    City leaders, the city office, superusers and portal keys see everything; a unit's officials
    and a unit key see that unit's assignments; an official also sees the assignments they answer
    for or hold authority over. Nobody else sees anything (an empty `Q(pk__in=[])`).
    """
    if scope.sees_all or scope.inspects_all:
        return None
    if scope.unit_id is None and scope.official_id is None:
        return Q(pk__in=[])
    q = Q(unit_id=scope.unit_id) if scope.unit_id is not None else Q()
    if scope.official_id is not None:
        q |= Q(responsible_id=scope.official_id) | Q(authority_id=scope.official_id)
    return q


def sees_assignment(scope: ActorScope, assignment: Any) -> bool:
    """`assignment_filter` for one assignment in memory (the webhooks ask this of each event)."""
    if scope.sees_all or scope.inspects_all:
        return True
    return (scope.unit_id is not None and scope.unit_id == assignment.unit_id) or (
        scope.official_id is not None and scope.official_id in (assignment.responsible_id, assignment.authority_id)
    )


def sees_only_own_reminders(scope: ActorScope) -> bool:
    """An official who is not city-wide sees only the reminders addressed to them."""
    return scope.official_id is not None and not scope.sees_all


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


def may_issue(scope: ActorScope, authority_id: int | None) -> bool:
    """Who may issue work: its authority, the city-wide offices and leaders, or an administrator."""
    is_authority_ = scope.official_id is not None and scope.official_id == authority_id
    office = scope.official is not None and scope.official.is_city_wide
    return not scope.read_only and (is_authority_ or scope.is_superuser or office)


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
    """Who may record a field inspection of an assignment: the city office and leaders, the
    assignment's authority, and inspectors (Thanh tra); a named official, never a key. A unit
    never inspects its own work: not its officials, not the official who answers for it."""
    official = scope.official
    if scope.read_only or official is None:
        return False
    if official.unit_id == assignment.unit_id or official.pk == assignment.responsible_id:
        return False
    return official.is_city_wide or official.is_inspector or official.pk == assignment.authority_id


def may_lead_city(scope: ActorScope) -> bool:
    """City-wide pages and writes (dashboard, recorded rankings, the plan import): not a portal key."""
    return scope.sees_all and not scope.read_only
