"""Illustrative activity for the sample plan (`manage.py load_sample_plan --demo-activity`).

Made-up demo data. Every department assignment and a sample of the commune assignments of each
task (DETAILED_PER_COMMUNE_TASK) go through the lifecycle, so they show every kind of story:
progress, submission, acceptance on time or late, return, extension requests pending, approved or
rejected. A lifecycle call costs a dozen queries (locking, history, progress report, events), too
slow for all ~1,400 assignments, so the remaining commune assignments get the plain stories (in
progress, submitted, accepted) written in bulk: the same rows the lifecycle writes (status,
progress, version, progress reports, one history row each) but without the domain events it
sends (webhooks), which is harmless on the fresh demo database this is meant for. The bulk writes
send no signal, so they move the figures version themselves (tasks_app/figures.py).
Afterwards the timestamps that the lifecycle stamped with "now" are moved back to plausible dates
with bulk updates, so the demo shows work spread over the year. History rows keep the real time
the demo data was generated.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from typing import Any

from django.db import connection
from django.utils import timezone

from tasks_app import figures, lifecycle
from tasks_app.models import Assignment, ExtensionRequest, Official, Plan, ProgressReport
from tasks_app.status import Status

DEMO_SEED = 2026
# Illustrative: the plan was handed out after the city's conference of 9 January 2026.
DEMO_ISSUED_ON = dt.date(2026, 1, 12)
# Commune assignments per commune task that get the full lifecycle treatment.
DETAILED_PER_COMMUNE_TASK = 12
DEMO_REASON = "demo activity"

RETURN_REASONS = [
    "Sản phẩm chưa có số liệu đối chiếu với Kho bạc Nhà nước; đề nghị bổ sung.",
    "Báo cáo chưa nêu rõ nguyên nhân các chỉ tiêu chưa đạt và người chịu trách nhiệm.",
    "Thiếu minh chứng (ảnh, biên bản) theo tiêu chí nghiệm thu; đề nghị bổ sung.",
    "Số liệu không khớp với báo cáo tháng trước; đề nghị rà soát lại.",
]
EXTENSION_REASONS = [
    "Vướng mắc giải phóng mặt bằng, đang chờ ý kiến của sở chuyên ngành.",
    "Chờ hướng dẫn của bộ, ngành Trung ương về thủ tục.",
    "Khối lượng công việc lớn sau sắp xếp đơn vị hành chính, thiếu cán bộ chuyên môn.",
    "Ảnh hưởng của mưa bão, phải tạm dừng thi công.",
]
PROGRESS_NOTES = [
    "Đã xây dựng kế hoạch chi tiết, phân công cán bộ thực hiện.",
    "Đang tổng hợp số liệu, dự thảo sản phẩm.",
    "Đã hoàn thành dự thảo, đang lấy ý kiến các đơn vị liên quan.",
    "Đã tổ chức kiểm tra thực địa, đang hoàn thiện hồ sơ.",
]


DAY = dt.timedelta(days=1)


def _update_rows(objs: list[Any], field_names: list[str]) -> None:
    """Write the given fields of each object: `bulk_update` without its CASE expression.

    Django's bulk_update compiles one CASE WHEN per row and field, which takes seconds at the
    few thousand rows of the demo; one parameterised UPDATE run with executemany does not.
    Like bulk_update, it calls no save() and sends no signal.
    """
    if not objs:
        return
    model, ops = type(objs[0]), connection.ops
    fields = [model._meta.get_field(name) for name in field_names]
    setters = ", ".join(f"{ops.quote_name(field.column)} = %s" for field in fields)
    # Identifiers come from the model's metadata, values are parameters.
    sql = f"UPDATE {ops.quote_name(model._meta.db_table)} SET {setters} WHERE {ops.quote_name(model._meta.pk.column)} = %s"  # noqa: S608
    params = [
        [field.get_db_prep_save(getattr(obj, field.attname), connection) for field in fields] + [obj.pk] for obj in objs
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def generate_demo_activity(plan: Plan, leader: Official) -> Counter | None:
    """Give the sample plan a deterministic, realistic mix of activity; None if it already has some."""
    assignments = Assignment.objects.filter(task__group__plan=plan)
    if (
        ProgressReport.objects.filter(assignment__in=assignments).exists()
        or ExtensionRequest.objects.filter(assignment__in=assignments).exists()
    ):
        return None
    return _DemoActivity(assignments, leader).run()


class _DemoActivity:
    def __init__(self, assignments, leader):
        self.assignments = assignments
        self.leader = leader
        # Demo data, not security: a seeded generator makes the activity reproducible.
        self.rng = random.Random(DEMO_SEED)  # noqa: S311
        self.now = timezone.now()
        self.tz = lifecycle.local_tz()
        self.today = timezone.localtime(self.now, self.tz).date()
        self.issued_on = min(DEMO_ISSUED_ON, self.today)
        self.report_times: dict[int, dt.datetime] = {}
        self.last_event: dict[int, dt.datetime] = {}
        self.extensions: list[ExtensionRequest] = []
        self.backdated: list[Assignment] = []
        self.bulk_assignments: list[Assignment] = []
        self.bulk_reports: list[tuple[ProgressReport, dt.datetime]] = []

    def run(self) -> Counter:
        # A fixed order, so the same seed gives the same activity on every database.
        rows = list(
            self.assignments.filter(status=Status.ISSUED)
            .select_related("task", "unit__head__user")
            .order_by("task__number", "role", "unit__code")
        )
        detailed = self._detailed(rows)
        outcomes: Counter = Counter()
        for a in rows:
            if a.pk in detailed:
                outcome = self._past_due(a) if a.deadline < self.today else self._not_yet_due(a)
                if outcome != "not started":
                    self.backdated.append(a)
            else:
                outcome = self._plain(a)
            outcomes[outcome] += 1

        # The plain stories: the same rows the lifecycle writes, and one history row each.
        _update_rows(
            self.bulk_assignments, ["status", "progress", "version", "submitted_at", "completed_at", "updated_at"]
        )
        Assignment.history.bulk_history_create(
            self.bulk_assignments, batch_size=500, update=True, default_change_reason=DEMO_REASON
        )
        created = ProgressReport.objects.bulk_create([report for report, _ in self.bulk_reports], batch_size=500)
        for report, (_, moment) in zip(created, self.bulk_reports, strict=True):
            report.created_at = moment  # bulk_create stamped auto_now_add with now

        # Move the timestamps the lifecycle stamped with "now" back to their illustrative dates.
        issued_at = self._at(self.issued_on, 8)
        self.assignments.update(issued_at=issued_at, created_at=issued_at)
        _update_rows(self.backdated, ["submitted_at", "completed_at"])
        reports = [ProgressReport(pk=pk, created_at=moment) for pk, moment in self.report_times.items()]
        _update_rows(reports + created, ["created_at"])
        _update_rows(self.extensions, ["requested_at", "decided_at"])
        figures.bump()
        return outcomes

    def _detailed(self, rows) -> set[int]:
        """Every department assignment, and a seeded sample of each task's commune assignments."""
        detailed = {a.pk for a in rows if not a.unit.is_commune_level}
        by_task: dict[int, list[int]] = {}
        for a in rows:
            if a.unit.is_commune_level:
                by_task.setdefault(a.task_id, []).append(a.pk)
        for pks in by_task.values():
            detailed.update(self.rng.sample(pks, min(DETAILED_PER_COMMUNE_TASK, len(pks))))
        return detailed

    # --- the story of one assignment, through the lifecycle -------------------------------
    def _past_due(self, a) -> str:
        rng, deadline = self.rng, a.deadline
        roll = rng.random()
        still_open = self._still_open(deadline)
        if roll < 1 - still_open - 0.12:
            kind = rng.random()
            if kind < 0.10:
                first = self._day(deadline - 15 * DAY, deadline)
                self._progress(a, rng.choice([50, 60, 70]), self._start(first))
                self._submit(a, first)
                returned = self._return(a, first)
                reworked = self._day(returned + DAY, returned + 4 * DAY)
                self._progress(a, 90, reworked)
                self._accept(a, self._submit(a, self._day(reworked + DAY, reworked + 20 * DAY)))
                return "accepted after return"
            handed_in = self._handed_in(deadline, late=kind < 0.30)
            self._progress(a, rng.choice([40, 50, 60, 70]), self._start(min(handed_in, deadline)))
            self._accept(a, self._submit(a, handed_in))
            return "accepted"
        if roll < 1 - still_open:
            handed_in = self._day(deadline - 5 * DAY, deadline + 25 * DAY)
            self._progress(a, rng.choice([60, 80]), self._start(min(handed_in, deadline)))
            self._submit(a, handed_in)
            if rng.random() < 0.4:
                self._return(a, handed_in)
                return "returned"
            return "submitted"
        asked = self._day(deadline - 10 * DAY, deadline)
        self._progress(a, rng.choice([20, 30, 40, 50]), self._start(asked))
        kind = rng.random()
        outcome = "in progress"
        if kind < 0.25:
            self._extension(a, asked, self.today + rng.randint(14, 45) * DAY, approve=True)
            outcome = "extension approved"
        elif kind < 0.35:
            self._extension(a, asked, deadline + 30 * DAY, approve=False)
            outcome = "extension rejected"
        elif kind < 0.55:
            # Asked late, after the deadline had passed: still waiting for the authority.
            asked = self._day(deadline + DAY, self.today)
            self._extension(a, asked, max(deadline, self.today) + rng.randint(14, 45) * DAY, approve=None)
            outcome = "extension pending"
        if rng.random() < 0.7:
            latest = self._day(max(asked + 5 * DAY, self.today - 20 * DAY), self.today)
            self._progress(a, rng.choice([60, 70, 80, 90]), latest)
        return outcome

    def _not_yet_due(self, a) -> str:
        rng, deadline = self.rng, a.deadline
        roll = rng.random()
        if roll < 0.10:
            handed_in = self._day(self.today - 20 * DAY, self.today - 8 * DAY)
            self._progress(a, 80, self._start(handed_in))
            self._accept(a, self._submit(a, handed_in))
            return "accepted"
        if roll < 0.18:
            handed_in = self._day(self.today - 6 * DAY, self.today)
            self._progress(a, 80, self._start(handed_in))
            self._submit(a, handed_in)
            return "submitted"
        if roll < 0.25:
            asked = self._day(self.today - 7 * DAY, self.today)
            self._progress(a, rng.choice([30, 40, 50]), self._start(asked))
            self._extension(a, asked, deadline + rng.randint(15, 45) * DAY, approve=None)
            return "extension pending"
        if roll < 0.80:
            self._progress(a, self._percent_by(deadline), self._start(self.today))
            return "in progress"
        return "not started"

    # --- the plain stories, written in bulk ------------------------------------------------
    def _plain(self, a) -> str:
        rng, deadline, head = self.rng, a.deadline, a.unit.head
        roll = rng.random()
        if deadline < self.today:
            if roll < 1 - self._still_open(deadline):
                handed_in = self._handed_in(deadline, late=rng.random() < 0.2)
                outcome, status, percent = "accepted", Status.ACCEPTED, rng.choice([40, 50, 60, 70])
                started = self._start(min(handed_in, deadline))
            else:
                outcome, status, percent = "in progress", Status.IN_PROGRESS, rng.choice([30, 40, 50, 60, 70, 80])
                started = self._start(deadline)
        elif roll < 0.10:
            handed_in = self._day(self.today - 20 * DAY, self.today - 8 * DAY)
            outcome, status, percent, started = "accepted", Status.ACCEPTED, 80, self._start(handed_in)
        elif roll < 0.18:
            handed_in = self._day(self.today - 6 * DAY, self.today)
            outcome, status, percent, started = "submitted", Status.SUBMITTED, 80, self._start(handed_in)
        elif roll < 0.80:
            outcome, status, percent = "in progress", Status.IN_PROGRESS, self._percent_by(deadline)
            started = self._start(self.today)
        else:
            return "not started"

        self._bulk_report(
            a, ProgressReport.Kind.PROGRESS, Status.IN_PROGRESS, percent, head, self._when(a, started, 8, 11)
        )
        a.status, a.progress, a.version = Status.IN_PROGRESS, percent, a.version + 1
        a._history_user = head.user
        if status in (Status.SUBMITTED, Status.ACCEPTED):
            a.submitted_at = self._when(a, handed_in, 13, 16)
            self._bulk_report(a, ProgressReport.Kind.SUBMISSION, Status.SUBMITTED, 100, head, a.submitted_at)
            a.status, a.progress, a.version = Status.SUBMITTED, 100, a.version + 1
        if status == Status.ACCEPTED:
            reviewed = self._day(handed_in + DAY, handed_in + 6 * DAY)
            reviewed_at = self._when(a, reviewed, 8, 16)
            self._bulk_report(a, ProgressReport.Kind.ACCEPTANCE, Status.ACCEPTED, 100, self.leader, reviewed_at)
            a.status, a.completed_at, a.version = Status.ACCEPTED, a.submitted_at, a.version + 1
            a._history_user = self.leader.user
        a.updated_at = self.now
        self.bulk_assignments.append(a)
        return outcome

    def _bulk_report(self, a, kind, status, percent, author, moment):
        notes = {
            ProgressReport.Kind.PROGRESS: self.rng.choice(PROGRESS_NOTES),
            ProgressReport.Kind.SUBMISSION: "Nộp sản phẩm theo tiêu chí nghiệm thu.",
            ProgressReport.Kind.ACCEPTANCE: "Sản phẩm đạt tiêu chí nghiệm thu.",
        }
        report = ProgressReport(
            assignment=a,
            kind=kind,
            author=author,
            author_label=author.full_name,
            status=status,
            percent=percent,
            note=notes[kind],
        )
        self.bulk_reports.append((report, moment))

    # --- lifecycle calls, remembering the illustrative time of each ----------------------
    def _progress(self, a, percent, day):
        report = a.report_progress(by=a.unit.head, percent=percent, note=self.rng.choice(PROGRESS_NOTES))
        self.report_times[report.pk] = self._when(a, day, 8, 11)

    def _submit(self, a, day) -> dt.datetime:
        report = a.submit(by=a.unit.head, note="Nộp sản phẩm theo tiêu chí nghiệm thu.")
        moment = self._when(a, day, 13, 16)
        self.report_times[report.pk] = a.submitted_at = moment
        return moment

    def _accept(self, a, submitted: dt.datetime):
        report = a.accept(by=self.leader, note="Sản phẩm đạt tiêu chí nghiệm thu.")
        # accept() copied the stored (undated) times back; completion is when the deliverable was handed in.
        a.submitted_at = a.completed_at = submitted
        reviewed = self._day(submitted.date() + DAY, submitted.date() + 6 * DAY)
        self.report_times[report.pk] = self._when(a, reviewed, 8, 16)

    def _return(self, a, submitted_on: dt.date) -> dt.date:
        report = a.return_(by=self.leader, reason=self.rng.choice(RETURN_REASONS))
        returned = self._day(submitted_on + DAY, submitted_on + 5 * DAY)
        self.report_times[report.pk] = self._when(a, returned, 8, 16)
        return returned

    def _extension(self, a, asked: dt.date, new_deadline: dt.date, *, approve: bool | None):
        reason = self.rng.choice(EXTENSION_REASONS)
        request = a.request_extension(by=a.unit.head, requested_deadline=new_deadline, reason=reason)
        requested_at = self._when(a, asked, 8, 16)
        if approve is not None:
            note = "Đồng ý gia hạn." if approve else "Không đồng ý gia hạn; đề nghị tập trung hoàn thành."
            request.decide(by=self.leader, approve=approve, note=note)  # copies the stored times back
            request.decided_at = self._when(a, self._day(asked + DAY, asked + 4 * DAY), 8, 16)
        request.requested_at = requested_at
        self.extensions.append(request)

    # --- illustrative dates, never after today and never before the plan was issued ------
    def _still_open(self, deadline: dt.date) -> float:
        """The share of past-due assignments still open: older deadlines are mostly finished."""
        return 0.30 if (self.today - deadline).days <= 60 else 0.12

    def _handed_in(self, deadline: dt.date, *, late: bool) -> dt.date:
        if late:
            return self._day(deadline + 2 * DAY, deadline + 40 * DAY)
        return self._day(deadline - 12 * DAY, deadline)

    def _percent_by(self, deadline: dt.date) -> int:
        """Progress of open work: further along the nearer its deadline."""
        days_left = (deadline - self.today).days
        return max(10, min(90, 100 - 2 * days_left + self.rng.randint(-20, 10)) // 10 * 10)

    def _day(self, low: dt.date, high: dt.date) -> dt.date:
        low = min(max(low, self.issued_on), self.today)
        high = max(low, min(high, self.today))
        return low + self.rng.randint(0, (high - low).days) * DAY

    def _start(self, before: dt.date) -> dt.date:
        """The first progress report: at least a few days after issue, some days before `before`."""
        return self._day(self.issued_on + 3 * DAY, before - 7 * DAY)

    def _when(self, a, day: dt.date, earliest_hour: int, latest_hour: int) -> dt.datetime:
        """A working-hours moment on `day`, and after the assignment's previous event (same-day events stay in order)."""
        moment = self._at(day, self.rng.randint(earliest_hour, latest_hour))
        previous = self.last_event.get(a.pk)
        if previous is not None:
            moment = max(
                previous, min(max(moment, previous + dt.timedelta(hours=1)), self.now - dt.timedelta(minutes=1))
            )
        self.last_event[a.pk] = moment
        return moment

    def _at(self, day: dt.date, hour: int) -> dt.datetime:
        moment = dt.datetime.combine(day, dt.time(hour, self.rng.randint(0, 59)), tzinfo=self.tz)
        return min(moment, self.now - dt.timedelta(minutes=1))
