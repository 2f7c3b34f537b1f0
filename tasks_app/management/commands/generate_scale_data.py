"""Generate national-scale data on the real units of the 34 provinces: one plan per province, its
groups and tasks, and assignments in every status.

    manage.py generate_scale_data --assignments 1000000            # all 34 provinces
    manage.py generate_scale_data --province 31 --province 01 --assignments 5000

Used by the benchmarks and for trying the system at the size of all 34 provinces. The organisation
is `load_province`'s (`tasks_app.provinces.load`, idempotent): each province from the maintained
package with its official commune-level units, its departments, a head for every unit, the
provincial leader `leader-<CODE>` (the authority of its tasks) and the office `office-<CODE>`,
and the national monitor `national-office`. To
that it adds a specialist per commune (`SC-staff-<unit code>`) and, per province, a plan of
GROUPS groups with enough tasks to give each of its communes its share of the assignments (shared
out in proportion to the provinces' communes). The same arguments and seed give the same rows.
Rows are written in bulk: COPY on PostgreSQL (about a minute for a million assignments on two
cores), multi-row INSERT elsewhere. Generated plans, tasks and assignments carry no change history.

The data is made to be valid, not just plentiful: every assignment that is not a draft has its six
clears, timestamps follow the lifecycle (issued ≤ submitted ≤ completed ≤ --as-of), and the
statuses depend on the deadline the way real work does: most work due before --as-of is accepted,
some of it late and a little still overdue; work due later is mostly issued or in progress.
Deadlines are spread evenly over the plan year, so on a normal day about 1% of the open
assignments cross a reminder stage.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import Counter
from collections.abc import Iterable, Iterator

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from tasks_app import figures, provinces
from tasks_app.models import Assignment, Official, Plan, Task, TaskGroup, Unit
from tasks_app.status import Status

PREFIX = "SC"  # every generated task code and specialist's user name starts with it
PLAN_NAME = "Kế hoạch thử tải quy mô toàn quốc"
GROUPS = 10
# Django never accepts a password for a hash with this prefix: nobody signs in as these people.
UNUSABLE_PASSWORD = UNUSABLE_PASSWORD_PREFIX + "scale-data"
# Rows handed to the database in one INSERT statement when COPY is not available.
INSERT_BATCH = 1000


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--as-of must be a date YYYY-MM-DD, not {value!r}") from exc


def share(total: int, parts: int) -> list[int]:
    """Split total into parts that differ by at most one, larger ones first."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def share_by(total: int, weights: list[int]) -> list[int]:
    """Split total in proportion to weights (largest remainders get the rest; ties to the first)."""
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    parts = [int(x) for x in exact]
    for i in sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))[: total - sum(parts)]:
        parts[i] += 1
    return parts


class Command(BaseCommand):
    help = "Generate national-scale benchmark data on the real units of the provinces (COPY on PostgreSQL)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--province",
            action="append",
            dest="provinces",
            metavar="CODE",
            help="a province code (repeat for several); default: all 34",
        )
        parser.add_argument("--assignments", type=int, default=1_000_000)
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--year", type=int, default=2026, help="plan year; deadlines fall in it")
        parser.add_argument(
            "--as-of", type=_date, default=None, help="the day the data describes (default: 2 March of --year)"
        )

    def handle(self, *args, provinces=None, assignments, seed, year, as_of, **options):
        if assignments < 1:
            raise CommandError("--assignments must be at least 1")
        if not 2000 <= year <= 2100:
            raise CommandError("--year must be between 2000 and 2100")
        as_of = as_of or dt.date(year, 3, 2)
        if not dt.date(year, 2, 1) <= as_of <= dt.date(year, 12, 31):
            raise CommandError("--as-of must fall between 1 February and 31 December of --year")
        try:
            sources = _sources(provinces)
        except ValidationError as exc:
            raise CommandError(exc.messages[0]) from exc
        if Plan.objects.filter(name=PLAN_NAME, year=year).exists():
            raise CommandError(
                "scale data is already in this database; generate it into an empty database "
                "(e.g. createdb acc_scale && DATABASE_URL=... manage.py migrate)"
            )
        started = time.monotonic()
        writer = Writer(self.stdout)
        generator = ScaleData(sources, assignments, seed=seed, year=year, as_of=as_of)
        with transaction.atomic():
            statuses = generator.write(writer)
            figures.bump()  # COPY sends no post_save (see tasks_app.figures)
        seconds = time.monotonic() - started
        if writer.copy:
            with connection.cursor() as cursor:  # fresh statistics, so benchmarks plan on real numbers
                for model in (Unit, Official, Task, Assignment):
                    cursor.execute(f"ANALYZE {model._meta.db_table}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(sources)} provinces, {sum(len(s.communes) for s in sources)} communes; "
                f"{sum(statuses.values())} assignments in {seconds:.1f} s "
                f"({'COPY' if writer.copy else 'INSERT'}), as of {as_of}: "
                + ", ".join(f"{status} {statuses[status]}" for status in Status.values)
            )
        )


def _sources(codes: list[str] | None) -> list[provinces.ProvinceSource]:
    return provinces.province_sources(codes or None)


class Writer:
    """Bulk writes of plain rows into a model's table: COPY on PostgreSQL, INSERT elsewhere."""

    def __init__(self, stdout=None):
        self.copy = connection.vendor == "postgresql"
        self.stdout = stdout

    def write(self, model, fields: list[str], rows: Iterable[tuple]) -> int:
        table = connection.ops.quote_name(model._meta.db_table)
        columns = [model._meta.get_field(name).column for name in fields]
        quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
        count = 0
        with connection.cursor() as cursor:
            if self.copy:
                # psycopg 3: COPY FROM STDIN fed row by row, so memory stays flat.
                with cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:  # noqa: S608
                    for row in rows:
                        copy.write_row(row)
                        count += 1
                return count
            adapters = [self._adapter(model._meta.get_field(name)) for name in fields]
            batch: list = []
            for row in rows:
                batch.append([adapt(value) for adapt, value in zip(adapters, row, strict=True)])
                if len(batch) == INSERT_BATCH:
                    count += self._insert(cursor, table, quoted, len(fields), batch)
                    batch = []
            if batch:
                count += self._insert(cursor, table, quoted, len(fields), batch)
        return count

    @staticmethod
    def _insert(cursor, table, quoted, width, batch) -> int:
        one = "(" + ", ".join(["%s"] * width) + ")"
        sql = f"INSERT INTO {table} ({quoted}) VALUES " + ", ".join([one] * len(batch))  # noqa: S608
        cursor.execute(sql, [value for row in batch for value in row])
        return len(batch)

    @staticmethod
    def _adapter(field):
        kind = field.get_internal_type()
        if kind == "DateTimeField":
            return connection.ops.adapt_datetimefield_value
        if kind == "DateField":
            return connection.ops.adapt_datefield_value
        return lambda value: value

    @staticmethod
    def ids(model, key: str, values) -> dict[str, int]:
        """Map a unique text column back to the ids the database gave the rows."""
        values = list(values)
        found: dict[str, int] = {}
        for start in range(0, len(values), 5000):
            chunk = values[start : start + 5000]
            found.update(model.objects.filter(**{f"{key}__in": chunk}).values_list(key, "id"))
        return found


class ScaleData:
    def __init__(
        self, sources: list[provinces.ProvinceSource], assignments: int, *, seed: int, year: int, as_of: dt.date
    ):
        self.sources = sources
        self.assignments_per_province = share_by(assignments, [len(s.communes) for s in sources])
        self.seed = seed
        self.year = year
        self.as_of = as_of
        self.first_deadline = dt.date(year, 1, 15)
        self.deadline_days = (dt.date(year, 12, 31) - self.first_deadline).days + 1
        self.start_of_year = dt.datetime(year, 1, 2, 1, 0, tzinfo=dt.UTC)
        self.moment = dt.datetime.combine(as_of, dt.time(1, 0), tzinfo=dt.UTC)  # 08:00 in Hà Nội

    # --- the organisation ----------------------------------------------------------------
    def staff(self) -> Iterator[tuple[str, str]]:
        """(user name, commune code): a specialist in every commune, who answers for half its work."""
        for src in self.sources:
            for code, _name, _kind in src.communes:
                yield f"{PREFIX}-staff-{code}".lower(), code

    def write(self, writer: Writer) -> Counter:
        # The real organisation, as `load_province --national-office` loads it (idempotent: a
        # database that already holds these provinces keeps its rows); `national-office` is the
        # actor that reads every province (the national view, a dashboard of the whole country).
        provinces.load(self.sources, national_office=True)
        codes = [src.code for src in self.sources] + [c[0] for src in self.sources for c in src.communes]
        units = {u.code: u for u in Unit.objects.filter(code__in=codes)}
        heads = {code: unit.head_id for code, unit in units.items()}
        leaders = dict(
            Official.objects.filter(user__username__in=[f"leader-{src.code}" for src in self.sources]).values_list(
                "unit__code", "id"
            )
        )

        User = get_user_model()
        people = list(self.staff())
        joined = self.start_of_year - dt.timedelta(days=30)
        writer.write(
            User,
            ["username", "password", "email", "first_name", "last_name", "is_staff", "is_superuser", "is_active"]
            + ["date_joined"],
            ((p[0], UNUSABLE_PASSWORD, f"{p[0]}@example.org", "", "", False, False, True, joined) for p in people),
        )
        user_ids = writer.ids(User, "username", (p[0] for p in people))
        writer.write(
            Official,
            ["user", "unit", "full_name", "position", "role", "phone", "zalo_user_id", "language"],
            (
                (
                    user_ids[u],
                    units[c].pk,
                    f"Chuyên viên {units[c].name}",
                    "Chuyên viên",
                    Official.Role.MEMBER,
                    "",
                    "",
                    "vi",
                )
                for u, c in people
            ),
        )
        staff_ids = dict(Official.objects.filter(user_id__in=user_ids.values()).values_list("user__username", "id"))
        staff = {c: staff_ids[u] for u, c in people}

        all_tasks: list[tuple] = []
        for src in self.sources:
            plan = Plan.objects.create(
                province=units[src.code],
                year=self.year,
                name=PLAN_NAME,
                theme=f"Thử tải: {src.name}, {len(src.communes)} đơn vị cấp xã",
                is_sample=True,
            )
            groups = TaskGroup.objects.bulk_create(
                [TaskGroup(plan=plan, number=n, title=f"Nhóm nhiệm vụ, giải pháp {n}") for n in range(1, GROUPS + 1)]
            )
            all_tasks += self.tasks(src, self.assignments_per_province[self.sources.index(src)], groups, leaders)
        writer.write(
            Task,
            ["group", "code", "number", "title", "description", "deliverable", "acceptance_criteria"]
            + ["default_deadline", "authority"],
            (t[:9] for t in all_tasks),
        )
        task_ids = writer.ids(Task, "code", (t[1] for t in all_tasks))

        statuses: Counter = Counter()
        rows = self.assignments(all_tasks, task_ids, units, leaders, heads, staff, statuses)
        writer.write(Assignment, ASSIGNMENT_FIELDS, rows)
        return statuses

    # --- the plan ------------------------------------------------------------------------
    def tasks(self, src: provinces.ProvinceSource, share_: int, groups, leaders) -> list[tuple]:
        """A province's tasks: enough to reach its share of assignments over its communes."""
        count = -(-share_ // len(src.communes))  # ceiling
        return [
            (
                groups[(n - 1) % len(groups)].pk,
                f"{PREFIX}-{src.code}-{n:04d}",
                n,
                f"Nhiệm vụ {n} của {src.name}",
                f"Nội dung nhiệm vụ {n}: tổ chức thực hiện và báo cáo kết quả.",
                "Báo cáo kết quả thực hiện",
                "Đạt mục tiêu đề ra, có số liệu minh chứng",
                dt.date(self.year, 12, 31),
                leaders[src.code],
                src.code,
            )
            for n in range(1, count + 1)
        ]

    def assignments(self, tasks, task_ids, units, leaders, heads, staff, statuses: Counter) -> Iterator[tuple]:
        rng = random.Random(self.seed)  # noqa: S311  (benchmark data, not secrets)
        by_province: dict[str, list[tuple]] = {}
        for t in tasks:
            by_province.setdefault(t[9], []).append(t)
        for src, remaining in zip(self.sources, self.assignments_per_province, strict=True):
            communes = [code for code, _name, _kind in src.communes]
            for task in by_province.get(src.code, []):
                for commune in communes:
                    if remaining == 0:
                        break
                    remaining -= 1
                    row = self.assignment(
                        rng, task_ids[task[1]], units[commune].pk, leaders[src.code], heads[commune], staff[commune]
                    )
                    statuses[row[ASSIGNMENT_STATUS]] += 1
                    yield row

    def assignment(self, rng: random.Random, task_id, unit_id, authority_id, head_id, staff_id) -> tuple:
        deadline = self.first_deadline + dt.timedelta(days=rng.randrange(self.deadline_days))
        status = self._status(rng, deadline)
        role = Assignment.Role.LEAD if rng.random() < 0.8 else Assignment.Role.COORDINATING
        responsible = head_id if rng.random() < 0.5 else staff_id
        original: dt.date | None = deadline
        if status != Status.DRAFT and rng.random() < 0.03:  # an approved extension
            original = deadline - dt.timedelta(days=rng.randrange(14, 45))
        # Issued in the first weeks of the year and always some days before the deadline.
        issue_days = min(20, (deadline - self.start_of_year.date()).days - 1)
        issued: dt.datetime = self.start_of_year + dt.timedelta(
            days=rng.randrange(issue_days), minutes=rng.randrange(600)
        )
        issued_at: dt.datetime | None = issued
        submitted_at: dt.datetime | None = None
        completed_at: dt.datetime | None = None
        progress, version, returns = 0, 2, 0
        if status == Status.DRAFT:
            issued_at, original, version = None, None, 1
        elif status == Status.IN_PROGRESS:
            progress, version = rng.randrange(5, 96, 5), 3 + rng.randrange(4)
        elif status == Status.RETURNED:
            progress, version, returns = rng.randrange(50, 96, 5), 6, 1
        elif status in (Status.SUBMITTED, Status.ACCEPTED):
            progress, version = 100, 5 + rng.randrange(3)
            # On time when handed in on or before the deadline (local date); late otherwise.
            late = deadline < self.as_of and rng.random() < 0.25
            day = (
                deadline + dt.timedelta(days=rng.randrange(1, 20))
                if late
                else deadline - dt.timedelta(days=rng.randrange(0, 30))
            )
            handed_in = dt.datetime.combine(day, dt.time(3, 0), tzinfo=dt.UTC)
            submitted_at = min(max(handed_in, issued + dt.timedelta(days=1)), self.moment - dt.timedelta(hours=2))
            if status == Status.ACCEPTED:
                completed_at = submitted_at
                version += 1
        elif status == Status.CANCELLED:
            progress, version = rng.randrange(0, 60, 5), 3
        created_at = (issued_at or self.start_of_year) - dt.timedelta(days=1)
        updated_at = max(t for t in (created_at, issued_at, submitted_at, completed_at) if t is not None)
        if status in (Status.IN_PROGRESS, Status.RETURNED, Status.CANCELLED):
            updated_at = max(updated_at, self.moment - dt.timedelta(days=rng.randrange(1, 30)))
        return (
            task_id,
            unit_id,
            role,
            responsible,
            dt.date(self.year, 1, 1),
            deadline,
            original,
            "",
            "",
            authority_id,
            status,
            progress,
            issued_at,
            submitted_at,
            completed_at,
            returns,
            version,
            created_at,
            updated_at,
        )

    def _status(self, rng: random.Random, deadline: dt.date) -> str:
        roll = rng.random()
        if deadline < self.as_of:  # due already: mostly done, a little still open and overdue
            for status, cumulative in PAST_DUE:
                if roll < cumulative:
                    return status
            return Status.ACCEPTED
        for status, cumulative in NOT_YET_DUE:
            if roll < cumulative:
                return status
        return Status.IN_PROGRESS


ASSIGNMENT_FIELDS = [
    "task",
    "unit",
    "role",
    "responsible",
    "start_date",
    "deadline",
    "original_deadline",
    "deliverable",
    "acceptance_criteria",
    "authority",
    "status",
    "progress",
    "issued_at",
    "submitted_at",
    "completed_at",
    "return_count",
    "version",
    "created_at",
    "updated_at",
]
ASSIGNMENT_STATUS = ASSIGNMENT_FIELDS.index("status")


def _cumulative(weights: list[tuple[str, float]]) -> list[tuple[str, float]]:
    total, out = 0.0, []
    for status, weight in weights:
        total += weight
        out.append((status, total))
    return out


PAST_DUE = _cumulative(
    [
        (Status.ACCEPTED, 0.80),
        (Status.SUBMITTED, 0.04),
        (Status.CANCELLED, 0.03),
        (Status.IN_PROGRESS, 0.08),
        (Status.RETURNED, 0.02),
        (Status.ISSUED, 0.03),
    ]
)
NOT_YET_DUE = _cumulative(
    [
        (Status.DRAFT, 0.02),
        (Status.ISSUED, 0.35),
        (Status.IN_PROGRESS, 0.45),
        (Status.SUBMITTED, 0.08),
        (Status.RETURNED, 0.03),
        (Status.ACCEPTED, 0.05),
        (Status.CANCELLED, 0.02),
    ]
)
