"""Generate national-scale data: provinces, their communes and departments, heads and officials,
one plan, its groups and tasks, and assignments in every status.

    manage.py generate_scale_data --provinces 34 --communes 3321 --assignments 1000000

Used by the benchmarks and for trying the system at the size of all 34 provinces. The same
arguments and seed give the same rows. Each province has its leader (the authority of its tasks),
a city office, two departments and its share of the communes, each with a head and a specialist;
every province task is given to its communes until the province's share of assignments is reached.
Rows are written in bulk: COPY on PostgreSQL (about a minute for a million assignments on two
cores), multi-row INSERT elsewhere. Generated rows carry no change history.

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
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from tasks_app import figures
from tasks_app.models import Assignment, Official, Plan, Task, TaskGroup, Unit
from tasks_app.status import Status

PREFIX = "SC"  # every generated code and user name starts with it, so real data is never touched
PLAN_NAME = "Kế hoạch thử tải quy mô toàn quốc"
GROUPS = 10
DEPARTMENTS = (("VP", "Văn phòng UBND"), ("TC", "Sở Tài chính"), ("XD", "Sở Xây dựng"))
COMMUNE_KINDS = (Unit.Kind.WARD, Unit.Kind.COMMUNE, Unit.Kind.COMMUNE, Unit.Kind.SPECIAL_ZONE)
KIND_NAMES = {Unit.Kind.WARD: "Phường", Unit.Kind.COMMUNE: "Xã", Unit.Kind.SPECIAL_ZONE: "Đặc khu"}
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


class Command(BaseCommand):
    help = "Generate national-scale benchmark data (deterministic, bulk inserts; COPY on PostgreSQL)."

    def add_arguments(self, parser):
        parser.add_argument("--provinces", type=int, default=34)
        parser.add_argument("--communes", type=int, default=3321, help="commune-level units in all (default 3321)")
        parser.add_argument("--assignments", type=int, default=1_000_000)
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--year", type=int, default=2026, help="plan year; deadlines fall in it")
        parser.add_argument(
            "--as-of", type=_date, default=None, help="the day the data describes (default: 2 March of --year)"
        )

    def handle(self, *args, provinces, communes, assignments, seed, year, as_of, **options):
        if provinces < 1:
            raise CommandError("--provinces must be at least 1")
        if communes < provinces:
            raise CommandError("--communes must be at least --provinces (each province needs a commune)")
        if assignments < 1:
            raise CommandError("--assignments must be at least 1")
        if not 2000 <= year <= 2100:
            raise CommandError("--year must be between 2000 and 2100")
        as_of = as_of or dt.date(year, 3, 2)
        if not dt.date(year, 2, 1) <= as_of <= dt.date(year, 12, 31):
            raise CommandError("--as-of must fall between 1 February and 31 December of --year")
        if Unit.objects.filter(code__startswith=f"{PREFIX}-").exists() or Plan.objects.filter(name=PLAN_NAME).exists():
            raise CommandError(
                "scale data is already in this database; generate it into an empty database "
                "(e.g. createdb acc_scale && DATABASE_URL=... manage.py migrate)"
            )
        started = time.monotonic()
        writer = Writer(self.stdout)
        generator = ScaleData(provinces, communes, assignments, seed=seed, year=year, as_of=as_of)
        with transaction.atomic():
            statuses = generator.write(writer)
            figures.bump()  # COPY sends no post_save (see tasks_app.figures)
        seconds = time.monotonic() - started
        if writer.copy:
            with connection.cursor() as cursor:  # fresh statistics, so benchmarks plan on real numbers
                cursor.execute(f"ANALYZE {Assignment._meta.db_table}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{sum(statuses.values())} assignments in {seconds:.1f} s "
                f"({'COPY' if writer.copy else 'INSERT'}), as of {as_of}: "
                + ", ".join(f"{status} {statuses[status]}" for status in Status.values)
            )
        )


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
    def __init__(self, provinces: int, communes: int, assignments: int, *, seed: int, year: int, as_of: dt.date):
        self.provinces = provinces
        self.communes_per_province = share(communes, provinces)
        self.assignments_per_province = share(assignments, provinces)
        self.seed = seed
        self.year = year
        self.as_of = as_of
        self.first_deadline = dt.date(year, 1, 15)
        self.deadline_days = (dt.date(year, 12, 31) - self.first_deadline).days + 1
        self.start_of_year = dt.datetime(year, 1, 2, 1, 0, tzinfo=dt.UTC)
        self.moment = dt.datetime.combine(as_of, dt.time(1, 0), tzinfo=dt.UTC)  # 08:00 in Hà Nội

    # --- the organisation ----------------------------------------------------------------
    def units(self) -> Iterator[tuple]:
        """(code, name, kind, parent code) in an order where each parent comes first."""
        for p in range(1, self.provinces + 1):
            province = f"{PREFIX}-P{p:02d}"
            yield province, f"Tỉnh/thành phố thử tải {p:02d}", Unit.Kind.CITY, None
            for code, name in DEPARTMENTS:
                yield f"{province}-{code}", f"{name} {p:02d}", Unit.Kind.DEPARTMENT, province
            for c in range(1, self.communes_per_province[p - 1] + 1):
                kind = COMMUNE_KINDS[(p + c) % len(COMMUNE_KINDS)]
                yield f"{province}-C{c:04d}", f"{KIND_NAMES[kind]} thử tải {p:02d}-{c:04d}", kind, province

    def people(self, units: list[tuple]) -> Iterator[tuple]:
        """(user name, unit code, full name, position, role, heads the unit)."""
        for code, _name, kind, _parent in units:
            if kind == Unit.Kind.CITY:
                yield f"{code}-leader".lower(), code, f"Lãnh đạo {code}", "Chủ tịch UBND", Official.Role.LEADER, True
                continue
            position = "Giám đốc" if kind == Unit.Kind.DEPARTMENT else "Chủ tịch UBND"
            yield f"{code}-head".lower(), code, f"Thủ trưởng {code}", position, Official.Role.MEMBER, True
            if code.endswith("-VP"):
                role, position = Official.Role.OFFICE, "Chuyên viên theo dõi"
            else:
                role, position = Official.Role.MEMBER, "Chuyên viên"
            yield f"{code}-staff".lower(), code, f"Chuyên viên {code}", position, role, False

    def write(self, writer: Writer) -> Counter:
        User = get_user_model()
        units = list(self.units())
        writer.write(Unit, ["code", "name", "kind"], ((code, name, kind) for code, name, kind, _ in units))
        unit_ids = writer.ids(Unit, "code", (u[0] for u in units))
        self._set_parents(units, unit_ids)

        people = list(self.people(units))
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
            ((user_ids[p[0]], unit_ids[p[1]], p[2], p[3], p[4], "", "", "vi") for p in people),
        )
        official_ids = dict(Official.objects.filter(user_id__in=user_ids.values()).values_list("user__username", "id"))
        heads = {p[1]: official_ids[p[0]] for p in people if p[5]}
        staff = {p[1]: official_ids[p[0]] for p in people if not p[5]}
        self._set_heads(unit_ids, heads)

        plan = Plan.objects.create(year=self.year, name=PLAN_NAME, theme="Thử tải 34 tỉnh, 3.321 xã", is_sample=True)
        groups = TaskGroup.objects.bulk_create(
            [TaskGroup(plan=plan, number=n, title=f"Nhóm nhiệm vụ, giải pháp {n}") for n in range(1, GROUPS + 1)]
        )
        tasks = list(self.tasks(groups, heads))
        writer.write(
            Task,
            ["group", "code", "number", "title", "description", "deliverable", "acceptance_criteria"]
            + ["default_deadline", "authority"],
            (t[:9] for t in tasks),
        )
        task_ids = writer.ids(Task, "code", (t[1] for t in tasks))

        statuses: Counter = Counter()
        rows = self.assignments(tasks, task_ids, unit_ids, heads, staff, statuses)
        writer.write(Assignment, ASSIGNMENT_FIELDS, rows)
        return statuses

    @staticmethod
    def _set_parents(units, unit_ids):
        # One UPDATE per province: its departments and communes get it as parent.
        children: dict[str, list[int]] = {}
        for code, _name, _kind, parent in units:
            if parent:
                children.setdefault(parent, []).append(unit_ids[code])
        for parent, ids in children.items():
            Unit.objects.filter(id__in=ids).update(parent_id=unit_ids[parent])

    @staticmethod
    def _set_heads(unit_ids, heads):
        # Every unit has its own head: one UPDATE ... CASE per chunk instead of one per unit.
        pairs = [(unit_ids[code], official) for code, official in heads.items()]
        table = connection.ops.quote_name(Unit._meta.db_table)
        column = connection.ops.quote_name(Unit._meta.get_field("head").column)
        for start in range(0, len(pairs), 2000):
            chunk = pairs[start : start + 2000]
            cases = " ".join(["WHEN %s THEN %s"] * len(chunk))
            ids = ", ".join(["%s"] * len(chunk))
            params = [v for pair in chunk for v in pair] + [pair[0] for pair in chunk]
            with connection.cursor() as cursor:
                cursor.execute(f"UPDATE {table} SET {column} = CASE id {cases} END WHERE id IN ({ids})", params)  # noqa: S608

    # --- the plan ------------------------------------------------------------------------
    def tasks(self, groups, heads) -> Iterator[tuple]:
        """Per province, enough tasks to reach its share of assignments over its communes."""
        for p in range(1, self.provinces + 1):
            province = f"{PREFIX}-P{p:02d}"
            communes = self.communes_per_province[p - 1]
            count = -(-self.assignments_per_province[p - 1] // communes)  # ceiling
            for n in range(1, count + 1):
                group = groups[(n - 1) % len(groups)]
                yield (
                    group.pk,
                    f"{province}-{n:04d}",
                    n,
                    f"Nhiệm vụ {n} của tỉnh {p:02d}",
                    f"Nội dung nhiệm vụ {n}: tổ chức thực hiện và báo cáo kết quả.",
                    "Báo cáo kết quả thực hiện",
                    "Đạt mục tiêu đề ra, có số liệu minh chứng",
                    dt.date(self.year, 12, 31),
                    heads[province],
                    province,
                )

    def assignments(self, tasks, task_ids, unit_ids, heads, staff, statuses: Counter) -> Iterator[tuple]:
        rng = random.Random(self.seed)  # noqa: S311  (benchmark data, not secrets)
        by_province: dict[str, list[tuple]] = {}
        for t in tasks:
            by_province.setdefault(t[9], []).append(t)
        for p in range(1, self.provinces + 1):
            province = f"{PREFIX}-P{p:02d}"
            communes = [f"{province}-C{c:04d}" for c in range(1, self.communes_per_province[p - 1] + 1)]
            remaining = self.assignments_per_province[p - 1]
            for task in by_province[province]:
                for commune in communes:
                    if remaining == 0:
                        break
                    remaining -= 1
                    row = self.assignment(
                        rng, task_ids[task[1]], unit_ids[commune], heads[province], heads[commune], staff[commune]
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
