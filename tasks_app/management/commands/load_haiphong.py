"""Load Hải Phòng: the city, its departments, its 114 commune-level units and a head for each.

The commune-level units come from the `vietnamadminunits` package (its bundled SQLite of the
post-July-2025 units), not typed by hand. Running the command twice changes nothing.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from tasks_app.models import Official, Unit

PROVINCE_CODE = "31"
CITY_CODE = "31"
CITY_NAME = "UBND thành phố Hải Phòng"

# City departments and agencies of the two-level government (after the 2025 merger).
DEPARTMENTS = [
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

WARD_KIND = {"Phường": Unit.Kind.WARD, "Xã": Unit.Kind.COMMUNE, "Đặc khu": Unit.Kind.SPECIAL_ZONE}
HEAD_TITLE = {
    Unit.Kind.CITY: "Chủ tịch",
    Unit.Kind.DEPARTMENT: "Giám đốc",
    Unit.Kind.WARD: "Chủ tịch UBND",
    Unit.Kind.COMMUNE: "Chủ tịch UBND",
    Unit.Kind.SPECIAL_ZONE: "Chủ tịch UBND",
}


def haiphong_communes() -> list[tuple[str, str, str]]:
    """(code, name, kind) of Hải Phòng's commune-level units, from the maintained package."""
    from vietnamadminunits.database import query

    sql = "SELECT DISTINCT wardCode, ward, wardType FROM admin_units WHERE provinceCode = '%s' ORDER BY wardCode"
    rows = query(sql % PROVINCE_CODE)  # the package's API takes SQL text; the code is a constant
    try:
        return [(r["wardCode"], r["ward"], WARD_KIND[r["wardType"]]) for r in rows]
    except KeyError as exc:
        raise CommandError(f"unknown commune-level kind in vietnamadminunits: {exc}") from exc


def _upsert_unit(code, name, kind, parent) -> Unit:
    """Create or correct a unit, saving (and writing history) only when something differs."""
    unit, created = Unit.objects.get_or_create(code=code, defaults={"name": name, "kind": kind, "parent": parent})
    if not created and (unit.name, unit.kind, unit.parent_id) != (name, kind, parent.pk if parent else None):
        unit.name, unit.kind, unit.parent = name, kind, parent
        unit.save()
    return unit


class Command(BaseCommand):
    help = "Load Hải Phòng's units (city, departments, 114 communes) and their heads. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--demo-password", help="also create demo sign-ins with this password")

    def handle(self, *args, demo_password=None, **options):
        if demo_password is not None and len(demo_password) < 8:
            raise CommandError("--demo-password must be at least 8 characters")
        communes = haiphong_communes()
        if len(communes) != 114:
            raise CommandError(f"expected 114 commune-level units for Hải Phòng, the package gives {len(communes)}")
        created_accounts: list[tuple[str, str]] = []
        # Hash the shared demo password once: 131 PBKDF2 rounds would take half a minute.
        self.demo_hash = make_password(demo_password) if demo_password else None
        with transaction.atomic():
            city = _upsert_unit(CITY_CODE, CITY_NAME, Unit.Kind.CITY, None)
            units = [city]
            units += [_upsert_unit(code, name, Unit.Kind.DEPARTMENT, city) for code, name in DEPARTMENTS]
            units += [_upsert_unit(code, name, kind, city) for code, name, kind in communes]

            for unit in units:
                title = HEAD_TITLE[Unit.Kind(unit.kind)]
                full_name = f"{title} {unit.name}" if unit.kind != Unit.Kind.CITY else f"{title} {CITY_NAME}"
                head, created = self._official(
                    f"head-{unit.code}",
                    unit,
                    full_name,
                    title,
                    Official.Role.LEADER if unit.kind == Unit.Kind.CITY else Official.Role.MEMBER,
                    demo_password,
                )
                if created:
                    created_accounts.append((head.user.username, full_name))
                if unit.head_id != head.pk:
                    unit.head = head
                    unit.save(update_fields=["head"])

            leader, created = self._official(
                "city-leader",
                city,
                "Phó Chủ tịch UBND thành phố (demo)",
                "Phó Chủ tịch UBND thành phố",
                Official.Role.LEADER,
                demo_password,
            )
            if created:
                created_accounts.append(("city-leader", "lãnh đạo thành phố, có thẩm quyền nghiệm thu và gia hạn"))
            office_unit = Unit.objects.get(code="VP-UBND")
            office, created = self._official(
                "city-office",
                office_unit,
                "Chuyên viên Văn phòng UBND thành phố (demo)",
                "Chuyên viên theo dõi",
                Official.Role.OFFICE,
                demo_password,
            )
            if created:
                created_accounts.append(("city-office", "Văn phòng UBND thành phố, theo dõi toàn bộ kế hoạch"))

        counts = {kind: Unit.objects.filter(kind=kind).count() for kind in Unit.Kind.values}
        self.stdout.write(
            f"Hải Phòng: {counts['ward']} phường, {counts['commune']} xã, {counts['special_zone']} đặc khu, "
            f"{counts['department']} sở/ngành."
        )
        if demo_password and created_accounts:
            self.stdout.write("Tài khoản demo (mật khẩu như --demo-password):")
            self.stdout.write("  city-leader  — lãnh đạo thành phố, có thẩm quyền (nghiệm thu, gia hạn, hủy)")
            self.stdout.write("  city-office  — Văn phòng UBND thành phố, theo dõi toàn bộ kế hoạch")
            self.stdout.write(
                "  head-<mã đơn vị> — người đứng đầu mỗi đơn vị, ví dụ head-10507 (Phường Thành Đông), head-SO-TC (Sở Tài chính)"
            )
            self.stdout.write(f"  ({len(created_accounts)} tài khoản mới)")

    def _official(self, username, unit, full_name, position, role, demo_password):
        User = get_user_model()
        user, created = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.org"})
        if created:
            if self.demo_hash:
                user.password = self.demo_hash
            else:
                user.set_unusable_password()
            user.save()
        elif demo_password and self.demo_hash and not user.has_usable_password():
            user.password = self.demo_hash
            user.save(update_fields=["password"])
            created = True
        official, _ = Official.objects.get_or_create(
            user=user, defaults={"unit": unit, "full_name": full_name, "position": position, "role": role}
        )
        return official, created
