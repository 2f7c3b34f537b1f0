"""Every legal and illegal transition, and who may make it."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tasks_app import lifecycle
from tasks_app.lifecycle import StaleVersion, TransitionError
from tasks_app.models import Assignment, ExtensionRequest, ProgressReport
from tasks_app.status import Status
from tests.conftest import make_assignment

ALL = list(Status)


def _at(task, unit, status, **extra):
    extra.setdefault("submitted_at", dt.datetime(2026, 5, 1, tzinfo=dt.UTC) if status == Status.SUBMITTED else None)
    return make_assignment(task, unit, status=status, **extra)


def _snapshot(a):
    a = Assignment.objects.get(pk=a.pk)
    return (a.status, a.version, a.progress, a.return_count, a.deadline, ProgressReport.objects.count())


# (action, states it is legal from, resulting state, who performs it)
TRANSITIONS = {
    "issue": ([Status.DRAFT], Status.ISSUED, "leader"),
    "report_progress": ([Status.ISSUED, Status.IN_PROGRESS, Status.RETURNED], Status.IN_PROGRESS, "head_a"),
    "submit": ([Status.IN_PROGRESS, Status.RETURNED], Status.SUBMITTED, "head_a"),
    "accept": ([Status.SUBMITTED], Status.ACCEPTED, "leader"),
    "return_": ([Status.SUBMITTED], Status.RETURNED, "leader"),
    "cancel": (
        [Status.DRAFT, Status.ISSUED, Status.IN_PROGRESS, Status.SUBMITTED, Status.RETURNED],
        Status.CANCELLED,
        "leader",
    ),
}


def _do(a, action, by):
    if action == "issue":
        return a.issue(by=by)
    if action == "report_progress":
        return a.report_progress(by=by, percent=40, note="đang làm")
    if action == "submit":
        return a.submit(by=by, note="nộp")
    if action == "accept":
        return a.accept(by=by)
    if action == "return_":
        return a.return_(by=by, reason="thiếu số liệu")
    if action == "cancel":
        return a.cancel(by=by, reason="không còn phù hợp")
    raise AssertionError(action)


CASES = [(action, state) for action in TRANSITIONS for state in ALL]


@pytest.mark.parametrize(("action", "state"), CASES, ids=[f"{a}-from-{s}" for a, s in CASES])
def test_transition_table(action, state, request, task, head_a, leader):
    legal_from, result, who = TRANSITIONS[action]
    actor = request.getfixturevalue(who)
    a = _at(task, head_a.unit, state)
    before = _snapshot(a)
    if state in legal_from:
        _do(a, action, actor)
        stored = Assignment.objects.get(pk=a.pk)
        assert stored.status == result == a.status
        assert stored.version == before[1] + 1
    else:
        with pytest.raises(TransitionError):
            _do(a, action, actor)
        assert _snapshot(a) == before


@pytest.mark.parametrize(
    ("action", "state", "intruder"),
    [
        ("report_progress", Status.ISSUED, "head_b"),
        ("report_progress", Status.ISSUED, "leader"),
        ("submit", Status.IN_PROGRESS, "head_b"),
        ("submit", Status.IN_PROGRESS, "office"),
        ("accept", Status.SUBMITTED, "head_a"),
        ("accept", Status.SUBMITTED, "office"),
        ("accept", Status.SUBMITTED, "dept_head"),
        ("return_", Status.SUBMITTED, "head_a"),
        ("cancel", Status.IN_PROGRESS, "head_a"),
        ("cancel", Status.IN_PROGRESS, "office"),
        ("issue", Status.DRAFT, "head_a"),
    ],
)
def test_only_the_right_person_may_act(action, state, intruder, request, task, head_a):
    actor = request.getfixturevalue(intruder)
    a = _at(task, head_a.unit, state)
    before = _snapshot(a)
    with pytest.raises(PermissionDenied):
        _do(a, action, actor)
    assert _snapshot(a) == before


def test_official_of_the_unit_reports_and_submits(assignment_a, official_a, leader):
    assignment_a.report_progress(by=official_a.user, percent=60, links=["https://example.org/bao-cao.pdf"])
    assignment_a.submit(by=official_a)
    assignment_a.accept(by=leader)
    kinds = list(ProgressReport.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == ["progress", "submission", "acceptance"]
    assert ProgressReport.objects.first().evidence.get().url == "https://example.org/bao-cao.pdf"


def test_city_office_may_issue_a_draft(task, head_a, office):
    a = _at(task, head_a.unit, Status.DRAFT)
    a.issue(by=office)
    assert Assignment.objects.get(pk=a.pk).status == Status.ISSUED


def test_accept_keeps_submission_time_as_completion(assignment_a, head_a, leader):
    assignment_a.report_progress(by=head_a, percent=90)
    assignment_a.submit(by=head_a)
    assignment_a.accept(by=leader)
    stored = Assignment.objects.get(pk=assignment_a.pk)
    assert stored.completed_at == stored.submitted_at is not None


def test_return_counts_and_requires_reason(assignment_a, head_a, leader):
    assignment_a.report_progress(by=head_a, percent=100)
    assignment_a.submit(by=head_a)
    with pytest.raises(ValidationError):
        assignment_a.return_(by=leader, reason="  ")
    assert Assignment.objects.get(pk=assignment_a.pk).status == Status.SUBMITTED
    assignment_a.return_(by=leader, reason="Thiếu phụ lục")
    stored = Assignment.objects.get(pk=assignment_a.pk)
    assert (stored.status, stored.return_count, stored.submitted_at) == (Status.RETURNED, 1, None)


def test_returned_deliverable_is_resubmitted_in_one_step(assignment_a, head_a, leader):
    assignment_a.report_progress(by=head_a, percent=100)
    assignment_a.submit(by=head_a, note="bản 1")
    assignment_a.return_(by=leader, reason="Thiếu phụ lục")
    assignment_a.submit(by=head_a, note="bản 2, đã bổ sung phụ lục")
    stored = Assignment.objects.get(pk=assignment_a.pk)
    assert (stored.status, stored.return_count, stored.progress) == (Status.SUBMITTED, 1, 100)
    assert stored.submitted_at is not None
    assignment_a.accept(by=leader)
    assert Assignment.objects.get(pk=assignment_a.pk).status == Status.ACCEPTED


@pytest.mark.parametrize("percent", [-1, 101, "abc", None, 3.5e9])
def test_bad_percent_changes_nothing(percent, assignment_a, head_a):
    before = _snapshot(assignment_a)
    with pytest.raises(ValidationError):
        assignment_a.report_progress(by=head_a, percent=percent)
    assert _snapshot(assignment_a) == before


def test_bad_link_changes_nothing(assignment_a, head_a):
    before = _snapshot(assignment_a)
    with pytest.raises(ValidationError):
        assignment_a.report_progress(by=head_a, percent=10, links=["javascript:alert(1)"])
    assert _snapshot(assignment_a) == before


def test_stale_version_is_refused(assignment_a, head_a):
    seen = assignment_a.version
    Assignment.objects.get(pk=assignment_a.pk).report_progress(by=head_a, percent=10)
    before = _snapshot(assignment_a)
    with pytest.raises(StaleVersion):
        assignment_a.report_progress(by=head_a, percent=20, expected_version=seen)
    assert _snapshot(assignment_a) == before


def test_read_only_portal_key_changes_nothing(assignment_a):
    class PortalKey:
        is_portal = True
        unit_id = None
        name = "portal"

    with pytest.raises(PermissionDenied):
        assignment_a.report_progress(by=PortalKey(), percent=10)


def test_unit_key_acts_for_its_unit_only(assignment_a, assignment_b):
    class UnitKey:
        is_portal = False
        name = "commune-a-system"

        def __init__(self, unit_id):
            self.unit_id = unit_id

    key = UnitKey(assignment_a.unit_id)
    report = assignment_a.report_progress(by=key, percent=30)
    assert (report.author_id, report.author_label) == (None, "API: commune-a-system")
    with pytest.raises(PermissionDenied):
        assignment_b.report_progress(by=key, percent=30)


class TestExtensions:
    def test_request_and_approve_moves_deadline_keeps_original(self, assignment_a, head_a, leader):
        request = assignment_a.request_extension(by=head_a, requested_deadline=dt.date(2026, 7, 31), reason="Chờ vốn")
        request.decide(by=leader, approve=True, note="Đồng ý")
        stored = Assignment.objects.get(pk=assignment_a.pk)
        assert (request.assignment.deadline, request.assignment.version) == (stored.deadline, stored.version)
        assert stored.deadline == dt.date(2026, 7, 31)
        assert stored.original_deadline == dt.date(2026, 6, 30)
        assert ExtensionRequest.objects.get().status == ExtensionRequest.Status.APPROVED

    def test_reject_keeps_deadline(self, assignment_a, head_a, leader):
        request = assignment_a.request_extension(by=head_a, requested_deadline=dt.date(2026, 7, 31), reason="Chờ vốn")
        request.decide(by=leader, approve=False, note="Không đủ căn cứ")
        assert Assignment.objects.get(pk=assignment_a.pk).deadline == dt.date(2026, 6, 30)

    def test_only_authority_decides(self, assignment_a, head_a, office):
        request = assignment_a.request_extension(by=head_a, requested_deadline=dt.date(2026, 7, 31), reason="Chờ vốn")
        with pytest.raises(PermissionDenied):
            request.decide(by=head_a, approve=True)
        with pytest.raises(PermissionDenied):
            request.decide(by=office, approve=True)
        assert ExtensionRequest.objects.get().status == ExtensionRequest.Status.PENDING

    def test_decided_twice_refused(self, assignment_a, head_a, leader):
        request = assignment_a.request_extension(by=head_a, requested_deadline=dt.date(2026, 7, 31), reason="Chờ vốn")
        request.decide(by=leader, approve=False)
        with pytest.raises(TransitionError):
            request.decide(by=leader, approve=True)

    @pytest.mark.parametrize("deadline", [dt.date(2026, 6, 30), dt.date(2026, 1, 1), "2026-08-01"])
    def test_bad_requested_deadline(self, deadline, assignment_a, head_a):
        with pytest.raises(ValidationError):
            assignment_a.request_extension(by=head_a, requested_deadline=deadline, reason="x")
        assert not ExtensionRequest.objects.exists()

    def test_one_pending_request_at_a_time(self, assignment_a, head_a):
        assignment_a.request_extension(by=head_a, requested_deadline=dt.date(2026, 7, 31), reason="1")
        with pytest.raises(TransitionError):
            assignment_a.request_extension(by=head_a, requested_deadline=dt.date(2026, 8, 31), reason="2")
        assert ExtensionRequest.objects.count() == 1

    def test_other_unit_cannot_request(self, assignment_a, head_b):
        with pytest.raises(PermissionDenied):
            assignment_a.request_extension(by=head_b, requested_deadline=dt.date(2026, 7, 31), reason="x")


def test_an_extension_request_made_on_a_stale_version_is_refused_under_the_row_lock(assignment_a, official_a):
    """The staleness check runs once, on the locked row: a copy read before another writer's
    change (as a page or an API call holds one) is refused even though it agrees with itself."""
    import datetime as dt

    from tasks_app.models import Assignment, ExtensionRequest

    stale = Assignment.objects.get(pk=assignment_a.pk)
    assignment_a.report_progress(by=official_a.user, percent=10)
    with pytest.raises(StaleVersion) as exc:
        stale.request_extension(
            by=official_a.user,
            requested_deadline=dt.date(2026, 9, 30),
            reason="Chờ vốn",
            expected_version=stale.version,
        )
    assert exc.value.current_version == 2
    assert not ExtensionRequest.objects.exists()


def test_a_step_given_its_moment_is_dated_then_and_a_step_without_one_now(assignment_a, head_a, leader):
    """Loaders that replay a story (the demo activity) pass `at`; the rules and the writes are the same."""
    t = [dt.datetime(2026, 3, day, 9, tzinfo=dt.UTC) for day in (2, 3, 4, 5, 6, 7)]
    start = dt.datetime.now(dt.UTC)
    lifecycle.report_progress(assignment_a, by=head_a, percent=40, at=t[0])
    request = lifecycle.request_extension(
        assignment_a, by=head_a, requested_deadline=dt.date(2026, 7, 31), reason="Chờ vốn", at=t[1]
    )
    lifecycle.decide_extension(request, by=leader, approve=True, at=t[2])
    lifecycle.submit(assignment_a, by=head_a, at=t[3])
    lifecycle.return_(assignment_a, by=leader, reason="Thiếu phụ lục", at=t[4])
    lifecycle.report_progress(assignment_a, by=head_a, percent=90)  # no moment: now
    lifecycle.submit(assignment_a, by=head_a, at=t[5])
    lifecycle.accept(assignment_a, by=leader)

    stored = Assignment.objects.get(pk=assignment_a.pk)
    assert (stored.status, stored.version, stored.return_count) == (Status.ACCEPTED, 8, 1)
    assert stored.submitted_at == stored.completed_at == t[5]
    assert stored.deadline == dt.date(2026, 7, 31)
    request = ExtensionRequest.objects.get()
    assert (request.requested_at, request.decided_at) == (t[1], t[2])
    reports = list(ProgressReport.objects.order_by("id").values_list("kind", "created_at"))
    assert [kind for kind, _ in reports] == ["progress", "submission", "return", "progress", "submission", "acceptance"]
    assert [moment for _, moment in reports][:3] == [t[0], t[3], t[4]]
    assert reports[3][1] >= start and reports[4][1] == t[5] and reports[5][1] >= start
    # The history rows of the steps carry the same moments.
    history = list(stored.history.filter(history_type="~").order_by("version").values_list("history_date", flat=True))
    assert history[:5] == [t[0], t[2], t[3], t[4], history[4]] and history[4] >= start
    assert history[5] == t[5] and history[6] >= start
