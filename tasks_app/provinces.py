"""The 34 provinces and their commune-level units, from the maintained package, loaded set-based.

`vietnamadminunits` (MIT, a bundled SQLite of the post-July-2025 units) is the source: the
province, every commune-level unit with its official code and kind. To that the loader adds a
default set of departments and a head for each unit, and, with a demo password, sign-ins:
`leader-<CODE>` (the provincial leader holding authority), `office-<CODE>` (the provincial office)
and `head-<unit code>`. A national read-only monitor, `national-office`, sits on its own unit.

The unit tree is two levels deep under the nation: a province (kind city or province, no parent),
and its departments and communes (parent: the province). `scope.py` reads a unit's province from
that tree. Loading is idempotent: rows that exist and agree are left alone, rows that differ are
corrected (with history), and nothing is written twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import transaction
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from tasks_app.models import Official, Unit

HAIPHONG = "31"
NATION_CODE = "VN"
NATION_NAME = "Theo dõi toàn quốc"
NATIONAL_OFFICE = "national-office"

# Hải Phòng's departments and agencies of the two-level government (after the 2025 merger),
# under the codes the city has used from the start.
HAIPHONG_DEPARTMENTS = [
    ("VP-UBND", "Văn phòng UBND thành phố"),
    ("SO-TC", "Sở Tài chính"),
    ("SO-NV", "Sở Nội vụ"),
    ("SO-TP", "Sở Tư pháp"),
    ("SO-XD", "Sở Xây dựng"),
    ("SO-CT", "Sở Công Thương"),
    ("SO-NNMT", "Sở Nông nghiệp và Môi trường"),
    ("SO-KHCN", "Sở Khoa học và Công nghệ"),
    ("SO-GDDT", "Sở Giáo dục và Đào tạo"),
    ("SO-YT", "Sở Y tế"),
    ("SO-VHTTDL", "Sở Văn hóa, Thể thao và Du lịch"),
    ("SO-DTTG", "Sở Dân tộc và Tôn giáo"),
    ("TTR-TP", "Thanh tra thành phố"),
    ("BQL-KKT", "Ban Quản lý Khu kinh tế Hải Phòng"),
]

# The default set for any other province: the office and the departments every province has
# after the 2025 reorganisation, coded "<province code>-<short code>".
DEFAULT_DEPARTMENTS = [
    ("VP-UBND", "Văn phòng UBND {level}"),
    ("SO-TC", "Sở Tài chính"),
    ("SO-NV", "Sở Nội vụ"),
    ("SO-TP", "Sở Tư pháp"),
    ("SO-XD", "Sở Xây dựng"),
    ("SO-CT", "Sở Công Thương"),
    ("SO-NNMT", "Sở Nông nghiệp và Môi trường"),
    ("SO-KHCN", "Sở Khoa học và Công nghệ"),
    ("SO-GDDT", "Sở Giáo dục và Đào tạo"),
    ("SO-YT", "Sở Y tế"),
    ("SO-VHTTDL", "Sở Văn hóa, Thể thao và Du lịch"),
    ("TTR", "Thanh tra {level}"),
]

WARD_KIND = {"Phường": Unit.Kind.WARD, "Xã": Unit.Kind.COMMUNE, "Đặc khu": Unit.Kind.SPECIAL_ZONE}
HEAD_TITLE = {
    Unit.Kind.CITY: "Chủ tịch UBND",
    Unit.Kind.PROVINCE: "Chủ tịch UBND",
    Unit.Kind.DEPARTMENT: "Giám đốc",
    Unit.Kind.WARD: "Chủ tịch UBND",
    Unit.Kind.COMMUNE: "Chủ tịch UBND",
    Unit.Kind.SPECIAL_ZONE: "Chủ tịch UBND",
}


@dataclass(frozen=True)
class ProvinceSource:
    code: str
    name: str  # "Thành phố Hải Phòng", "Tỉnh Cao Bằng"
    communes: tuple[tuple[str, str, str], ...]  # (code, name, kind)

    @property
    def kind(self) -> str:
        return Unit.Kind.CITY if self.name.startswith("Thành phố") else Unit.Kind.PROVINCE

    @property
    def level(self) -> str:
        return "thành phố" if self.kind == Unit.Kind.CITY else "tỉnh"

    @property
    def unit_name(self) -> str:
        return f"UBND {self.name[0].lower()}{self.name[1:]}"

    def departments(self) -> list[tuple[str, str]]:
        if self.code == HAIPHONG:
            return HAIPHONG_DEPARTMENTS
        return [(f"{self.code}-{short}", name.format(level=self.level)) for short, name in DEFAULT_DEPARTMENTS]

    @property
    def office_code(self) -> str:
        return self.departments()[0][0]


def province_sources(codes: Iterable[str] | None = None) -> list[ProvinceSource]:
    """The provinces (all 34 when codes is None) with their commune-level units, from the package.

    Raises ValidationError naming any code the package does not know."""
    from vietnamadminunits.database import query

    rows = query("SELECT DISTINCT provinceCode, province, wardCode, ward, wardType FROM admin_units ORDER BY wardCode")
    by_code: dict[str, tuple[str, list[tuple[str, str, str]]]] = {}
    for r in rows:
        try:
            kind = WARD_KIND[r["wardType"]]
        except KeyError as exc:
            raise ValidationError(f"Loại đơn vị cấp xã không xác định trong vietnamadminunits: {exc}") from exc
        by_code.setdefault(r["provinceCode"], (r["province"], []))[1].append((r["wardCode"], r["ward"], kind))
    wanted = sorted(by_code) if codes is None else list(dict.fromkeys(codes))
    unknown = [c for c in wanted if c not in by_code]
    if unknown:
        raise ValidationError(
            f"Không có tỉnh, thành phố mã {', '.join(unknown)}; mã hợp lệ: {', '.join(sorted(by_code))}"
        )
    return [ProvinceSource(c, by_code[c][0], tuple(by_code[c][1])) for c in wanted]


@dataclass
class LoadResult:
    provinces: int = 0
    communes: int = 0
    units_created: int = 0
    units_changed: int = 0
    accounts_created: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _UnitRow:
    code: str
    name: str
    kind: str
    parent_code: str | None


@dataclass(frozen=True)
class _PersonRow:
    username: str
    unit_code: str
    full_name: str
    position: str
    role: str
    heads: bool


def _rows(sources: list[ProvinceSource], national_office: bool) -> tuple[list[_UnitRow], list[_PersonRow]]:
    units: list[_UnitRow] = []
    people: list[_PersonRow] = []
    for src in sources:
        units.append(_UnitRow(src.code, src.unit_name, src.kind, None))
        units += [_UnitRow(code, name, Unit.Kind.DEPARTMENT, src.code) for code, name in src.departments()]
        units += [_UnitRow(code, name, kind, src.code) for code, name, kind in src.communes]
        people.append(
            _PersonRow(
                f"leader-{src.code}",
                src.code,
                f"Phó Chủ tịch UBND {src.name} (demo)",
                f"Phó Chủ tịch UBND {src.level}",
                Official.Role.LEADER,
                False,
            )
        )
        people.append(
            _PersonRow(
                f"office-{src.code}",
                src.office_code,
                f"Chuyên viên Văn phòng UBND {src.name} (demo)",
                "Chuyên viên theo dõi",
                Official.Role.OFFICE,
                False,
            )
        )
    if national_office:
        units.append(_UnitRow(NATION_CODE, NATION_NAME, Unit.Kind.NATION, None))
        people.append(
            _PersonRow(
                NATIONAL_OFFICE,
                NATION_CODE,
                "Chuyên viên theo dõi toàn quốc",
                "Chuyên viên theo dõi",
                Official.Role.NATIONAL,
                False,
            )
        )
    for row in units:
        if row.kind == Unit.Kind.NATION:
            continue
        title = HEAD_TITLE[Unit.Kind(row.kind)]
        role = Official.Role.LEADER if row.parent_code is None else Official.Role.MEMBER
        people.append(_PersonRow(f"head-{row.code}", row.code, f"{title} {row.name}", title, role, True))
    return units, people


@transaction.atomic
def load(
    sources: list[ProvinceSource],
    *,
    demo_password: str | None = None,
    national_office: bool = False,
    extra_people: Iterable[tuple[str, str, str, str, str]] = (),
) -> LoadResult:
    """Load provinces (and, if asked, the national office) in a handful of set-based statements.

    `extra_people` adds named accounts (username, unit code, full name, position, role): Hải
    Phòng's `city-leader` and `city-office`."""
    result = LoadResult(provinces=len(sources), communes=sum(len(s.communes) for s in sources))
    unit_rows, people = _rows(sources, national_office)
    people += [_PersonRow(u, c, n, p, r, False) for u, c, n, p, r in extra_people]

    # Units: roots first, so their children can point to them.
    existing = {u.code: u for u in Unit.objects.filter(code__in=[r.code for r in unit_rows])}
    changed: list[Unit] = []
    for roots in (True, False):
        rows = [r for r in unit_rows if (r.parent_code is None) == roots]
        new: list[Unit] = []
        for row in rows:
            parent_id = existing[row.parent_code].pk if row.parent_code else None
            unit = existing.get(row.code)
            if unit is None:
                new.append(Unit(code=row.code, name=row.name, kind=row.kind, parent_id=parent_id))
            elif (unit.name, unit.kind, unit.parent_id) != (row.name, row.kind, parent_id):
                unit.name, unit.kind, unit.parent_id = row.name, row.kind, parent_id
                changed.append(unit)
        for unit in bulk_create_with_history(new, Unit, batch_size=1000):
            existing[unit.code] = unit
        result.units_created += len(new)
    if changed:
        bulk_update_with_history(changed, Unit, ["name", "kind", "parent"], batch_size=1000)
        result.units_changed = len(changed)

    # Sign-ins: one hash for the shared demo password (thousands of PBKDF2 rounds would take minutes).
    User = get_user_model()
    demo_hash = make_password(demo_password) if demo_password else None
    users = {u.username: u for u in User.objects.filter(username__in=[p.username for p in people])}
    new_users = [
        User(username=p.username, email=f"{p.username}@example.org", password=demo_hash or make_password(None))
        for p in people
        if p.username not in users
    ]
    User.objects.bulk_create(new_users, batch_size=1000)
    result.accounts_created = [u.username for u in new_users]
    if demo_hash:
        unusable = [u for u in users.values() if not u.has_usable_password()]
        for user in unusable:
            user.password = demo_hash
        User.objects.bulk_update(unusable, ["password"], batch_size=1000)
        result.accounts_created += [u.username for u in unusable]
    users = {u.username: u for u in User.objects.filter(username__in=[p.username for p in people])}

    officials = {o.user_id: o for o in Official.objects.filter(user__in=users.values())}
    new_officials = [
        Official(
            user=users[p.username],
            unit=existing[p.unit_code],
            full_name=p.full_name,
            position=p.position,
            role=p.role,
        )
        for p in people
        if users[p.username].pk not in officials
    ]
    for official in bulk_create_with_history(new_officials, Official, batch_size=1000):
        officials[official.user_id] = official

    heads: list[Unit] = []
    for p in people:
        if not p.heads:
            continue
        unit, head = existing[p.unit_code], officials[users[p.username].pk]
        if unit.head_id != head.pk:
            unit.head_id = head.pk
            heads.append(unit)
    if heads:
        bulk_update_with_history(heads, Unit, ["head"], batch_size=1000)
    return result
