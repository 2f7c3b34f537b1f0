"""Illustrative activity for the sample plan (`manage.py load_sample_plan --demo-activity`).

Made-up demo data. Every assignment's story goes through the lifecycle (tasks_app/lifecycle.py):
progress, submission, acceptance on time or late, return, extension requests pending, approved or
rejected, so versions, history, domain events and the figures version move as for a real user.
Each step is given its illustrative moment (`at=`), so the demo shows work spread over the year.
Every department assignment and a sample of the commune assignments of each task
(DETAILED_PER_COMMUNE_TASK) get the full range of stories; the other commune assignments get
the plain ones (in progress, submitted, accepted). The only write outside the lifecycle dates
the issue, which the plan loader did moments before, back to the day the plan was handed out.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

from django.db.models import QuerySet
from django.utils import timezone

from tasks_app import lifecycle
from tasks_app.models import Assignment, ExtensionRequest, Official, Plan, ProgressReport
from tasks_app.status import Status

DEMO_SEED = 2026
# Illustrative: the plan was handed out after the city's conference of 9 January 2026.
DEMO_ISSUED_ON = dt.date(2026, 1, 12)
# Commune assignments per commune task that get the full lifecycle treatment.
DETAILED_PER_COMMUNE_TASK = 12

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
SUBMISSION_NOTE = "Nộp sản phẩm theo tiêu chí nghiệm thu."
ACCEPTANCE_NOTE = "Sản phẩm đạt tiêu chí nghiệm thu."


def generate_demo_activity(plan: Plan, leader: Official) -> Counter[str] | None:
    """Give the sample plan a deterministic, realistic mix of activity; None if it already has some."""
    assignments = Assignment.objects.filter(task__group__plan=plan)
    if (
        ProgressReport.objects.filter(assignment__in=assignments).exists()
        or ExtensionRequest.objects.filter(assignment__in=assignments).exists()
    ):
        return None
    return _DemoActivity(assignments, leader).run()


class _DemoActivity:
    def __init__(self, assignments: QuerySet[Assignment], leader: Official) -> None:
        self.assignments = assignments
        self.leader = leader
        # Demo data, not security: a seeded generator makes the activity reproducible.
        self.rng = random.Random(DEMO_SEED)  # noqa: S311
        self.now = timezone.now()
        self.tz = lifecycle.local_tz()
        self.today = timezone.localtime(self.now, self.tz).date()
        self.issued_on = min(DEMO_ISSUED_ON, self.today)
        self.last_event: dict[int, dt.datetime] = {}

    def run(self) -> Counter[str]:
        # The plan was handed out on DEMO_ISSUED_ON: date the loader's issue (and its history row) then.
        issued_at = self._at(self.issued_on, 8)
        self.assignments.update(issued_at=issued_at, created_at=issued_at)
        Assignment.history.filter(id__in=self.assignments.values("pk"), history_type="+").update(history_date=issued_at)
        # A fixed order, so the same seed gives the same activity on every database.
        rows = list(
            self.assignments.filter(status=Status.ISSUED)
            .select_related("task", "unit__head__user")
            .order_by("task__number", "role", "unit__code")
        )
        detailed = self._detailed(rows)
        outcomes: Counter[str] = Counter()
        for a in rows:
            deadline = a.deadline
            if deadline is None:  # never once issued (the six clears)
                continue
            if a.pk in detailed:
                outcome = self._past_due(a, deadline) if deadline < self.today else self._not_yet_due(a, deadline)
            else:
                outcome = self._plain(a, deadline)
            outcomes[outcome] += 1
        return outcomes

    def _detailed(self, rows: list[Assignment]) -> set[int]:
        """Every department assignment, and a seeded sample of each task's commune assignments."""
        detailed = {a.pk for a in rows if not a.unit.is_commune_level}
        by_task: dict[int, list[int]] = {}
        for a in rows:
            if a.unit.is_commune_level:
                by_task.setdefault(a.task_id, []).append(a.pk)
        for pks in by_task.values():
            detailed.update(self.rng.sample(pks, min(DETAILED_PER_COMMUNE_TASK, len(pks))))
        return detailed

    # --- the story of one assignment ------------------------------------------------------
    def _past_due(self, a: Assignment, deadline: dt.date) -> str:
        rng = self.rng
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

    def _not_yet_due(self, a: Assignment, deadline: dt.date) -> str:
        rng = self.rng
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

    def _plain(self, a: Assignment, deadline: dt.date) -> str:
        """The plain stories of the other commune assignments: in progress, submitted, accepted."""
        rng = self.rng
        roll = rng.random()
        if deadline < self.today:
            if roll < 1 - self._still_open(deadline):
                handed_in = self._handed_in(deadline, late=rng.random() < 0.2)
                self._progress(a, rng.choice([40, 50, 60, 70]), self._start(min(handed_in, deadline)))
                self._accept(a, self._submit(a, handed_in))
                return "accepted"
            self._progress(a, rng.choice([30, 40, 50, 60, 70, 80]), self._start(deadline))
            return "in progress"
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
        if roll < 0.80:
            self._progress(a, self._percent_by(deadline), self._start(self.today))
            return "in progress"
        return "not started"

    # --- lifecycle steps, each at its illustrative moment ---------------------------------
    def _progress(self, a: Assignment, percent: int, day: dt.date) -> None:
        note = self.rng.choice(PROGRESS_NOTES)
        lifecycle.report_progress(a, by=a.unit.head, percent=percent, note=note, at=self._when(a, day, 8, 11))

    def _submit(self, a: Assignment, day: dt.date) -> dt.datetime:
        moment = self._when(a, day, 13, 16)
        lifecycle.submit(a, by=a.unit.head, note=SUBMISSION_NOTE, at=moment)
        return moment

    def _accept(self, a: Assignment, submitted: dt.datetime) -> None:
        # Reviewed some days after it was handed in; completion stays the hand-in (the lifecycle's rule).
        submitted_on = timezone.localtime(submitted, self.tz).date()
        reviewed = self._day(submitted_on + DAY, submitted_on + 6 * DAY)
        lifecycle.accept(a, by=self.leader, note=ACCEPTANCE_NOTE, at=self._when(a, reviewed, 8, 16))

    def _return(self, a: Assignment, submitted_on: dt.date) -> dt.date:
        reason = self.rng.choice(RETURN_REASONS)
        returned = self._day(submitted_on + DAY, submitted_on + 5 * DAY)
        lifecycle.return_(a, by=self.leader, reason=reason, at=self._when(a, returned, 8, 16))
        return returned

    def _extension(self, a: Assignment, asked: dt.date, new_deadline: dt.date, *, approve: bool | None) -> None:
        reason = self.rng.choice(EXTENSION_REASONS)
        # Within the plan's extension horizon, as the lifecycle requires of any request.
        new_deadline = min(new_deadline, lifecycle.extension_limit(a) or new_deadline)
        request = lifecycle.request_extension(
            a, by=a.unit.head, requested_deadline=new_deadline, reason=reason, at=self._when(a, asked, 8, 16)
        )
        if approve is not None:
            note = "Đồng ý gia hạn." if approve else "Không đồng ý gia hạn; đề nghị tập trung hoàn thành."
            decided = self._when(a, self._day(asked + DAY, asked + 4 * DAY), 8, 16)
            lifecycle.decide_extension(request, by=self.leader, approve=approve, note=note, at=decided)

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

    def _when(self, a: Assignment, day: dt.date, earliest_hour: int, latest_hour: int) -> dt.datetime:
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
