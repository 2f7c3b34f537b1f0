"""Status rules, the six-clears invariant and timeliness of assignments.

Everything that decides whether an assignment may change lives here, so that the web, the API,
the admin and the importer all get the same rule and the same error. Model methods on
`Assignment` and `ExtensionRequest` delegate to the functions below; this module imports no
models (it reaches them through the objects it is given), so the dependency runs one way:
`status` and `scope` below, `lifecycle` above them, `models` on top. Who may act is decided in
`tasks_app.scope`; the statuses and their named sets live in `tasks_app.status`.

The steps of a story (progress, submit, accept, return, extension request and decision) take an
optional `at`, when the step happened (default now): a loader that replays a story (the demo
activity) dates the step, its report, its history row and its times with it, under the same rules.

Timeliness follows the classes of Vietnamese government reporting. A deadline is a date in
Asia/Ho_Chi_Minh: an assignment due on 30 June is overdue from 1 July 00:00 local time.
- draft or cancelled, or no deadline: no class;
- accepted: completed on time if the accepted deliverable was submitted on or before the
  deadline (local date), else completed late;
- submitted, awaiting acceptance: in progress on time if submitted by the deadline, else overdue
  (the unit is not penalised for the authority's review time);
- otherwise open: overdue once today is after the deadline; before that, not yet due while the
  unit has not started (issued), in progress on time once it has.
"""

from __future__ import annotations

import datetime as dt
import enum
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Case, F, Value, When
from django.db.models.functions import TruncDate
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone
from django.utils.translation import gettext as _t

from tasks_app import events
from tasks_app.scope import ActorScope, actor_scope, is_authority, is_unit_member, may_issue
from tasks_app.status import CANCELLABLE, OPEN, WORKING, Status, Timeliness

if TYPE_CHECKING:  # for annotations only: the models import this module
    from tasks_app.models import Assignment, ExtensionRequest, ProgressReport


class Clear(enum.Enum):
    """The six clears (sáu rõ), each with its Vietnamese and English name and what is missing."""

    PERSON = ("person", "rõ người", "clear person", "chưa có cán bộ chịu trách nhiệm", "no responsible official")
    TASK = (
        "task",
        "rõ việc",
        "clear task",
        "nhiệm vụ chưa có tên và nội dung",
        "the task has no title and description",
    )
    TIME = ("time", "rõ thời gian", "clear time", "chưa có thời hạn", "no deadline")
    RESPONSIBILITY = (
        "responsibility",
        "rõ trách nhiệm",
        "clear responsibility",
        "chưa xác định vai trò (chủ trì/phối hợp) hoặc đơn vị chưa có người đứng đầu",
        "no role (lead/coordinating) or the unit has no head",
    )
    DELIVERABLE = (
        "deliverable",
        "rõ sản phẩm",
        "clear deliverable",
        "chưa có sản phẩm và tiêu chí nghiệm thu",
        "no deliverable and acceptance criteria",
    )
    AUTHORITY = ("authority", "rõ thẩm quyền", "clear authority", "chưa có người có thẩm quyền", "no authority")

    def __init__(self, key: str, name_vi: str, name_en: str, missing_vi: str, missing_en: str) -> None:
        self.key = key
        self.name_vi = name_vi
        self.name_en = name_en
        self.missing_vi = missing_vi
        self.missing_en = missing_en

    @property
    def message(self) -> str:
        return f"Thiếu {self.name_vi}: {self.missing_vi} / Missing {self.name_en}: {self.missing_en}"


class TransitionError(ValidationError):
    """An illegal status change; nothing was changed."""


class StaleVersion(Exception):
    """The assignment changed since the caller read it (ETag/If-Match, stale web form)."""

    def __init__(self, current_version: int) -> None:
        self.current_version = current_version
        super().__init__(
            _t("Phân công đã được người khác cập nhật; hãy tải lại và thử lại. (version %(v)s)")
            % {"v": current_version}
        )


# --- the six clears ------------------------------------------------------------------------


def missing_clears(assignment: Assignment) -> list[Clear]:
    """Which of the six clears the assignment lacks (empty when it may be issued)."""
    missing = []
    if not assignment.responsible_id:
        missing.append(Clear.PERSON)
    # An unsaved task (the form that gives one, before it is stored) is judged as given.
    task = assignment.task if assignment.task_id or type(assignment).task.is_cached(assignment) else None
    if task is None or not task.title.strip() or not task.description.strip():
        missing.append(Clear.TASK)
    if not assignment.deadline:
        missing.append(Clear.TIME)
    if not assignment.role or not assignment.unit_id or not assignment.unit.head_id:
        missing.append(Clear.RESPONSIBILITY)
    deliverable = assignment.deliverable or (task.deliverable if task else "")
    criteria = assignment.acceptance_criteria or (task.acceptance_criteria if task else "")
    if not deliverable.strip() or not criteria.strip():
        missing.append(Clear.DELIVERABLE)
    if not assignment.authority_id:
        missing.append(Clear.AUTHORITY)
    return missing


def six_clears_error(missing: list[Clear]) -> ValidationError:
    return ValidationError(
        {"__all__": [ValidationError(c.message, code=f"missing_{c.key}") for c in missing]},
    )


def check_six_clears(assignment: Assignment) -> None:
    """Raise a ValidationError naming every missing clear unless the assignment is a draft."""
    if assignment.status == Status.DRAFT:
        return
    missing = missing_clears(assignment)
    if missing:
        raise six_clears_error(missing)


# --- who is acting -------------------------------------------------------------------------


def _require_unit_member(assignment: Assignment, scope: ActorScope) -> None:
    if not is_unit_member(scope, assignment):
        raise PermissionDenied(_t("Chỉ đơn vị được giao mới được báo cáo và nộp sản phẩm của phân công này."))


def _require_authority(assignment: Assignment, scope: ActorScope) -> None:
    if not is_authority(scope, assignment):
        raise PermissionDenied(_t("Chỉ người có thẩm quyền của phân công này mới được thực hiện thao tác này."))


def require_issuer(authority_id: int | None, scope: ActorScope, units: Any = ()) -> None:
    """The issuer rule for work given to `units` (an office issues only in its own province)."""
    if not may_issue(scope, authority_id) or not all(may_issue(scope, authority_id, unit) for unit in units):
        raise PermissionDenied(_t("Chỉ người có thẩm quyền hoặc Văn phòng UBND thành phố mới được giao nhiệm vụ."))


def _require_status(assignment: Assignment, allowed: Iterable[str], action: str) -> None:
    if assignment.status not in allowed:
        raise TransitionError(
            _t("Không thể %(action)s khi phân công đang ở trạng thái “%(status)s”.")
            % {"action": action, "status": Status(assignment.status).label},
            code="illegal_transition",
        )


# --- transitions ---------------------------------------------------------------------------


def _locked(assignment: Assignment, expected_version: int | str | None) -> Assignment:
    """Re-read the row under a lock so two writers never both act on the same version."""
    locked = type(assignment).objects.select_for_update().select_related("task", "unit").get(pk=assignment.pk)
    if expected_version is not None and locked.version != int(expected_version):
        raise StaleVersion(locked.version)
    locked._loaded_status = locked.status
    return locked


def _save(
    locked: Assignment,
    original: Assignment,
    scope: ActorScope,
    reason: str = "",
    event: str | None = None,
    at: dt.datetime | None = None,
    **data: Any,
) -> None:
    previous_status = locked._loaded_status
    locked.version += 1
    locked._history_user = scope.user
    if at is not None:  # django-simple-history dates the history row with it
        locked._history_date = at
    locked._change_reason = reason[:100] if reason else None
    locked.save()
    # The caller's object now shows the new state without another query.
    for field in locked._meta.concrete_fields:
        setattr(original, field.attname, getattr(locked, field.attname))
    if locked.status != previous_status:
        events.send(locked, events.STATUS_CHANGED, actor_label=scope.label, previous_status=previous_status)
    if event:
        events.send(locked, event, actor_label=scope.label, **data)


def _record(
    locked: Assignment,
    scope: ActorScope,
    kind: str,
    note: str = "",
    links: Iterable[str] = (),
    at: dt.datetime | None = None,
) -> ProgressReport:
    report = locked.reports.create(
        kind=kind,
        author_id=scope.official_id,
        author_label=scope.label,
        status=locked.status,
        percent=locked.progress,
        note=note,
    )
    _stamp(report, "created_at", at)
    links = [link for link in links if link]
    if links:
        evidence = report.evidence.model
        evidence.objects.bulk_create([evidence(report=report, url=link) for link in links])
    return report


def _stamp(row: models.Model, field: str, at: dt.datetime | None) -> None:
    """Give a row created just now the time `at` instead (auto_now_add ignores a given value)."""
    if at is not None:
        setattr(row, field, at)
        type(row)._default_manager.filter(pk=row.pk).update(**{field: at})


def _validate_links(links: Iterable[str]) -> None:
    from django.core.validators import URLValidator

    validator = URLValidator(schemes=["http", "https"])
    for link in links:
        if link:
            try:
                validator(link)
            except ValidationError as exc:
                raise ValidationError({"links": _t("Đường dẫn không hợp lệ: %(link)s") % {"link": link}}) from exc


def _issue_step(assignment: Assignment, now: dt.datetime) -> None:
    """What issuing does to a draft that has its six clears: its deadline becomes the original one."""
    assignment.status = Status.ISSUED
    assignment.issued_at = now
    assignment.original_deadline = assignment.deadline


def issue(assignment: Assignment, *, by: Any) -> Assignment:
    scope = actor_scope(by)
    with transaction.atomic():
        locked = _locked(assignment, None)
        require_issuer(locked.authority_id, scope, [locked.unit])
        _require_status(locked, (Status.DRAFT,), _t("giao"))
        missing = missing_clears(locked)
        if missing:
            raise six_clears_error(missing)
        _issue_step(locked, timezone.now())
        _save(locked, assignment, scope, "issued")
    return assignment


def issue_new(
    assignments: list[Assignment],
    *,
    by: Any,
    authority_id: int | None,
    create: Callable[[list[Assignment]], list[Assignment]],
) -> list[Assignment]:
    """Issue drafts not stored yet, all or none (a fan-out): the issuer rule and the step of
    `issue`, every missing clear of every unit in one error, then `create(assignments)` (one bulk
    insert) and one status event each, sent together. `by=None` is the system (loaders, the
    importer), which needs no issuer's right."""
    scope = actor_scope(by)
    if by is not None:
        require_issuer(authority_id, scope, {a.unit_id: a.unit for a in assignments}.values())
    errors = {}
    for a in assignments:
        missing = missing_clears(a)
        if missing:
            errors[a.unit.code] = [c.message for c in missing]
    if errors:
        raise ValidationError(
            [
                ValidationError(f"{code}: " + "; ".join(messages), code="missing_clears")
                for code, messages in sorted(errors.items())
            ]
        )
    now = timezone.now()
    for a in assignments:
        _issue_step(a, now)
    created = create(assignments)
    events.send_many(created, events.STATUS_CHANGED, actor_label=scope.label, previous_status=Status.DRAFT)
    return created


# The longest note, reason or opinion one step may carry: a page of text, stated on every form.
NOTE_MAX_LENGTH = 4000


def _check_length(field: str, text: str | None) -> None:
    if text and len(text) > NOTE_MAX_LENGTH:
        raise ValidationError(
            {
                field: _t("Tối đa %(max)s ký tự (đang có %(n)s).")
                % {"max": f"{NOTE_MAX_LENGTH:,}".replace(",", "."), "n": f"{len(text):,}".replace(",", ".")}
            },
            code="too_long",
        )


def extension_limit(assignment: Any) -> dt.date | None:
    """The latest deadline an extension may ask for: the plan's horizon after the original deadline."""
    base = assignment.original_deadline or assignment.deadline
    if base is None:
        return None
    return base + dt.timedelta(days=assignment.task.group.plan.extension_horizon_days)


def report_progress(
    assignment: Assignment,
    *,
    by: Any,
    percent: Any,
    note: str = "",
    links: Iterable[str] = (),
    expected_version: int | str | None = None,
    at: dt.datetime | None = None,
) -> ProgressReport:
    scope = actor_scope(by)
    _check_length("note", note)
    try:
        percent = int(percent)
    except (TypeError, ValueError) as exc:
        raise ValidationError({"percent": _t("Tiến độ phải là số nguyên từ 0 đến 100.")}) from exc
    if not 0 <= percent <= 100:
        raise ValidationError({"percent": _t("Tiến độ phải là số nguyên từ 0 đến 100.")})
    _validate_links(links)
    with transaction.atomic():
        locked = _locked(assignment, expected_version)
        _require_unit_member(locked, scope)
        _require_status(locked, WORKING, _t("báo cáo tiến độ"))
        locked.status = Status.IN_PROGRESS
        locked.progress = percent
        _save(locked, assignment, scope, "progress", event="assignment.progress_reported", at=at, percent=percent)
        return _record(locked, scope, "progress", note, links, at)


def submit(
    assignment: Assignment,
    *,
    by: Any,
    note: str = "",
    links: Iterable[str] = (),
    expected_version: int | str | None = None,
    at: dt.datetime | None = None,
) -> ProgressReport:
    scope = actor_scope(by)
    _check_length("note", note)
    _validate_links(links)
    with transaction.atomic():
        locked = _locked(assignment, expected_version)
        _require_unit_member(locked, scope)
        # A returned deliverable is resubmitted in one step: the return's reason is what to fix.
        _require_status(locked, (Status.IN_PROGRESS, Status.RETURNED), _t("nộp sản phẩm"))
        locked.status = Status.SUBMITTED
        locked.progress = 100
        locked.submitted_at = at or timezone.now()
        _save(locked, assignment, scope, "submitted", at=at)
        report = _record(locked, scope, "submission", note, links, at)
        events.send_handoff(locked, "submitted", actor=scope, note=note)
        return report


def accept(
    assignment: Assignment,
    *,
    by: Any,
    note: str = "",
    expected_version: int | str | None = None,
    at: dt.datetime | None = None,
) -> ProgressReport:
    scope = actor_scope(by)
    _check_length("note", note)
    with transaction.atomic():
        locked = _locked(assignment, expected_version)
        _require_authority(locked, scope)
        _require_status(locked, (Status.SUBMITTED,), _t("nghiệm thu"))
        locked.status = Status.ACCEPTED
        # Completion is when the accepted deliverable was handed in, not when it was reviewed.
        locked.completed_at = locked.submitted_at
        _save(locked, assignment, scope, "accepted", at=at)
        report = _record(locked, scope, "acceptance", note, at=at)
        events.send_handoff(locked, "accepted", actor=scope, note=note)
        return report


def return_(
    assignment: Assignment,
    *,
    by: Any,
    reason: str,
    expected_version: int | str | None = None,
    at: dt.datetime | None = None,
) -> ProgressReport:
    scope = actor_scope(by)
    if not (reason or "").strip():
        raise ValidationError({"reason": _t("Cần nêu lý do trả lại.")})
    _check_length("reason", reason)
    with transaction.atomic():
        locked = _locked(assignment, expected_version)
        _require_authority(locked, scope)
        _require_status(locked, (Status.SUBMITTED,), _t("trả lại"))
        locked.status = Status.RETURNED
        locked.submitted_at = None
        locked.return_count += 1
        _save(locked, assignment, scope, "returned", at=at)
        report = _record(locked, scope, "return", reason, at=at)
        events.send_handoff(locked, "returned", actor=scope, note=reason)
        return report


def cancel(
    assignment: Assignment, *, by: Any, reason: str, expected_version: int | str | None = None
) -> ProgressReport:
    scope = actor_scope(by)
    if not (reason or "").strip():
        raise ValidationError({"reason": _t("Cần nêu lý do hủy.")})
    _check_length("reason", reason)
    with transaction.atomic():
        locked = _locked(assignment, expected_version)
        _require_authority(locked, scope)
        _require_status(locked, CANCELLABLE, _t("hủy"))
        locked.status = Status.CANCELLED
        _save(locked, assignment, scope, "cancelled")
        return _record(locked, scope, "cancellation", reason)


def request_extension(
    assignment: Assignment,
    *,
    by: Any,
    requested_deadline: Any,
    reason: str,
    expected_version: int | str | None = None,
    at: dt.datetime | None = None,
) -> ExtensionRequest:
    scope = actor_scope(by)
    if not isinstance(requested_deadline, dt.date):
        raise ValidationError({"requested_deadline": _t("Thời hạn đề nghị phải là một ngày.")})
    if not (reason or "").strip():
        raise ValidationError({"reason": _t("Cần nêu lý do đề nghị gia hạn.")})
    _check_length("reason", reason)
    with transaction.atomic():
        locked = _locked(assignment, expected_version)
        _require_unit_member(locked, scope)
        _require_status(locked, WORKING, _t("đề nghị gia hạn"))
        current = locked.deadline  # never None once issued (the six clears)
        if current is None or requested_deadline <= current:
            raise ValidationError({"requested_deadline": _t("Thời hạn đề nghị phải sau thời hạn hiện tại.")})
        limit = extension_limit(locked)
        if limit is not None and requested_deadline > limit:
            raise ValidationError(
                {
                    "requested_deadline": _t(
                        "Thời hạn đề nghị không được sau %(limit)s: kế hoạch cho gia hạn tối đa %(n)s ngày "
                        "sau thời hạn ban đầu."
                    )
                    % {"limit": limit.strftime("%d/%m/%Y"), "n": locked.task.group.plan.extension_horizon_days}
                },
                code="beyond_horizon",
            )
        requests = locked.extension_requests
        if requests.filter(status=requests.model.Status.PENDING).exists():
            raise TransitionError(_t("Đã có một đề nghị gia hạn đang chờ quyết định."), code="pending_extension")
        try:
            with transaction.atomic():
                extension = requests.create(
                    requested_by_id=scope.official_id,
                    requested_by_label=scope.label,
                    current_deadline=current,
                    requested_deadline=requested_deadline,
                    reason=reason,
                )
        except IntegrityError as exc:  # a concurrent request won the race
            raise TransitionError(
                _t("Đã có một đề nghị gia hạn đang chờ quyết định."), code="pending_extension"
            ) from exc
        _stamp(extension, "requested_at", at)
        events.send_handoff(locked, "extension_requested", actor=scope, note=reason, extension=extension)
        return extension


def decide_extension(
    request: ExtensionRequest, *, by: Any, approve: bool, note: str = "", at: dt.datetime | None = None
) -> ExtensionRequest:
    # The models call this module, so it reaches them through the objects it is given.
    extension_model = type(request)
    assignment_model = cast("type[Assignment]", extension_model.assignment.field.related_model)
    scope = actor_scope(by)
    _check_length("note", note)
    with transaction.atomic():
        locked_request = extension_model.objects.select_for_update().get(pk=request.pk)
        assignment = assignment_model.objects.select_for_update().get(pk=locked_request.assignment_id)
        assignment._loaded_status = assignment.status
        _require_authority(assignment, scope)
        if locked_request.status != extension_model.Status.PENDING:
            raise TransitionError(_t("Đề nghị gia hạn này đã được quyết định."), code="already_decided")
        if approve and assignment.status not in OPEN:
            raise TransitionError(_t("Phân công đã kết thúc, không thể gia hạn."), code="illegal_transition")
        locked_request.status = extension_model.Status.APPROVED if approve else extension_model.Status.REJECTED
        locked_request.decided_by_id = scope.official_id
        locked_request.decided_at = at or timezone.now()
        locked_request.decision_note = note
        locked_request._history_user = scope.user
        if at is not None:
            locked_request._history_date = at
        locked_request.save()
        if approve:
            previous = assignment.deadline
            assignment.deadline = locked_request.requested_deadline
            _save(
                assignment,
                assignment,
                scope,
                "extension approved",
                event="assignment.deadline_changed",
                at=at,
                previous_deadline=previous.isoformat() if previous else None,
                deadline=assignment.deadline.isoformat(),
            )
        events.send_handoff(assignment, "extension_decided", actor=scope, note=note, extension=locked_request)
    for field in locked_request._meta.concrete_fields:
        setattr(request, field.attname, getattr(locked_request, field.attname))
    # A caller holding request.assignment sees the new deadline and version, not a stale copy.
    if extension_model.assignment.is_cached(request):
        for field in assignment._meta.concrete_fields:
            setattr(request.assignment, field.attname, getattr(assignment, field.attname))
    return request


# --- what happens next ----------------------------------------------------------------------


@dataclass(frozen=True)
class NextStep:
    """What has to happen next on an assignment and whose move it is (unit, authority or nobody)."""

    key: str  # issue | report | submit | resubmit | review | decide_extension | done | cancelled
    whose: str  # "unit" | "authority" | ""


def next_step(assignment: Assignment, *, pending_extension: bool = False) -> NextStep:
    """The one rule the pages word as "Việc tiếp theo": after a return, resubmitting is the unit's."""
    status = assignment.status
    if status == Status.DRAFT:
        return NextStep("issue", "authority")
    if status == Status.ACCEPTED:
        return NextStep("done", "")
    if status == Status.CANCELLED:
        return NextStep("cancelled", "")
    if status == Status.SUBMITTED:
        return NextStep("review", "authority")
    if pending_extension:
        return NextStep("decide_extension", "authority")
    if status == Status.RETURNED:
        return NextStep("resubmit", "unit")
    if status == Status.ISSUED:
        return NextStep("report", "unit")
    return NextStep("submit", "unit")


# --- timeliness ----------------------------------------------------------------------------


def local_tz() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def local_today() -> dt.date:
    """Today in Hải Phòng: deadlines are local dates."""
    return timezone.localdate(timezone=local_tz())


def _local_date(moment: dt.datetime | None) -> dt.date | None:
    return timezone.localtime(moment, local_tz()).date() if moment else None


def timeliness_of(assignment: Assignment, today: dt.date | None = None) -> Timeliness | None:
    """The reporting class of one assignment (see the module docstring)."""
    today = today or local_today()
    status, deadline = assignment.status, assignment.deadline
    if status in (Status.DRAFT, Status.CANCELLED) or deadline is None:
        return None
    if status == Status.ACCEPTED:
        done = _local_date(assignment.completed_at)
        return Timeliness.COMPLETED_ON_TIME if done and done <= deadline else Timeliness.COMPLETED_LATE
    if status == Status.SUBMITTED:
        handed_in = _local_date(assignment.submitted_at)
        return Timeliness.ON_TIME if handed_in and handed_in <= deadline else Timeliness.OVERDUE
    if today > deadline:
        return Timeliness.OVERDUE
    return Timeliness.NOT_YET_DUE if status == Status.ISSUED else Timeliness.ON_TIME


def timeliness_expression(today: dt.date | None = None, deadline: str = "deadline") -> Case:
    """The same rule as `timeliness_of`, as one SQL CASE expression.

    `deadline` names the deadline to judge by: KPI and reports pass an annotation of the
    original deadline, so an approved extension does not erase a delay.

    The dashboard's maintained counts judge with this very expression: their PostgreSQL triggers
    call a function whose body is it, compiled (`tasks_app.counts.timeliness_case`); a change here
    reaches them at the next `counts.install()`, which a migration runs.
    """
    today = today or local_today()
    tz = local_tz()
    text: models.CharField = models.CharField()
    completed_by_deadline: Any = LessThanOrEqual(TruncDate("completed_at", tzinfo=tz), F(deadline))
    submitted_by_deadline: Any = LessThanOrEqual(TruncDate("submitted_at", tzinfo=tz), F(deadline))
    return Case(
        When(status__in=[Status.DRAFT, Status.CANCELLED], then=Value(None, output_field=text)),
        When(**{f"{deadline}__isnull": True}, then=Value(None, output_field=text)),
        When(
            status=Status.ACCEPTED,
            then=Case(
                When(completed_by_deadline, then=Value(Timeliness.COMPLETED_ON_TIME.value)),
                default=Value(Timeliness.COMPLETED_LATE.value),
                output_field=text,
            ),
        ),
        When(
            status=Status.SUBMITTED,
            then=Case(
                When(submitted_by_deadline, then=Value(Timeliness.ON_TIME.value)),
                default=Value(Timeliness.OVERDUE.value),
                output_field=text,
            ),
        ),
        When(**{f"{deadline}__lt": today}, then=Value(Timeliness.OVERDUE.value)),
        When(status=Status.ISSUED, then=Value(Timeliness.NOT_YET_DUE.value)),
        default=Value(Timeliness.ON_TIME.value),
        output_field=text,
    )
