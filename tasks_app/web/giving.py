"""Giving a task from the web (/tasks/new/): the six clears filled in one form, with live feedback.

The form asks `actions.clears_report` (the lifecycle's one six-clears rule, asked of every
assignment the form would create) as the user types, and `actions.give_task` on submit, which
checks who may give it and refuses to issue with any clear missing.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tasks_app import actions
from tasks_app.models import Plan, Task, TaskGroup, Unit
from tasks_app.scope import actor_scope, gives_within, may_give_tasks
from tasks_app.web.forms import GiveTaskForm


def _require_giver(request: HttpRequest) -> None:
    if not may_give_tasks(actor_scope(request.user)):
        raise PermissionDenied(_("Chỉ Văn phòng UBND thành phố và người có thẩm quyền mới được giao nhiệm vụ."))


def _behind_the_wall(request: HttpRequest) -> None:
    """A unit or a task group of another province is not there for the giver: 404, as every
    object behind the province wall (the rule is `scope.gives_within`)."""
    scope = actor_scope(request.user)
    unit_ids = [value for value in request.POST.getlist("units") if value.isdigit()]
    if not all(gives_within(scope, unit) for unit in Unit.objects.filter(pk__in=unit_ids)):
        raise Http404(_("Không tìm thấy đơn vị."))
    group = request.POST.get("group", "")
    if (
        group.isdigit()
        and TaskGroup.objects.filter(pk=group).exclude(plan__in=Plan.objects.visible_to(request.user)).exists()
    ):
        raise Http404(_("Không tìm thấy nhóm nhiệm vụ."))


def _units(request: HttpRequest, data: dict) -> list:
    if data.get("target") == "communes":
        return actions.communes_of_province(request.user)
    return list(data.get("units") or [])


def _clears(request: HttpRequest, form: GiveTaskForm) -> list[dict]:
    """The six clears of what the form would give, from whatever part of it is valid so far."""
    if form.is_bound:
        form.is_valid()
    data = getattr(form, "cleaned_data", {})
    task = Task(
        title=data.get("title") or "",
        description=data.get("description") or "",
        deliverable=data.get("deliverable") or "",
        acceptance_criteria=data.get("acceptance_criteria") or "",
    )
    return actions.clears_report(
        task,
        _units(request, data),
        role=data.get("role") or "",
        deadline=data.get("deadline"),
        authority=data.get("authority"),
    )


def _page(request: HttpRequest, form: GiveTaskForm, status: int = 200) -> HttpResponse:
    return render(request, "web/task_new.html", {"form": form, "clears": _clears(request, form)}, status=status)


@login_required
def task_new(request: HttpRequest) -> HttpResponse:
    _require_giver(request)
    if request.method != "POST":
        scope = actor_scope(request.user)
        initial = {"authority": scope.official_id} if scope.official and not scope.official.is_city_wide else {}
        return _page(request, GiveTaskForm(initial=initial, giver=scope.official, actor=request.user))
    _behind_the_wall(request)
    form = GiveTaskForm(request.POST, giver=actor_scope(request.user).official, actor=request.user)
    if not form.is_valid():
        return _page(request, form, status=400)
    data = form.cleaned_data
    issue = request.POST.get("action") == "issue"
    try:
        task, assignments = actions.give_task(
            by=request.user,
            group=data["group"],
            title=data["title"],
            description=data["description"],
            deliverable=data["deliverable"],
            acceptance_criteria=data["acceptance_criteria"],
            deadline=data["deadline"],
            authority=data["authority"],
            units=_units(request, data),
            role=data["role"],
            source_document=form.source_document_data(),
            code=data["code"],
            issue=issue,
        )
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for field, errors in exc.error_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            form.add_error(None, exc.error_list)
        return _page(request, form, status=400)
    if issue:
        messages.success(
            request, _("Đã giao nhiệm vụ %(code)s cho %(n)s đơn vị.") % {"code": task.code, "n": len(assignments)}
        )
    else:
        messages.success(
            request,
            _("Đã lưu dự thảo nhiệm vụ %(code)s (%(n)s đơn vị); chưa giao.")
            % {"code": task.code, "n": len(assignments)},
        )
    return redirect("web:task", code=task.code)


@require_POST
@login_required
def task_clears(request: HttpRequest) -> HttpResponse:
    """The six-clears panel for what has been typed so far (htmx swaps it in as the user types)."""
    _require_giver(request)
    form = GiveTaskForm(request.POST, giver=actor_scope(request.user).official, actor=request.user)
    return render(request, "web/_clears.html", {"clears": _clears(request, form)})
