"""Load Hải Phòng: `load_province 31` (the city, its named departments, its 114 commune-level units
and a head for each) plus the city's own `city-leader`, `city-office` and `city-inspector` sign-ins.

The commune-level units come from the `vietnamadminunits` package (its bundled SQLite of the
post-July-2025 units), not typed by hand. Running the command twice changes nothing.
"""

from django.core.management.base import BaseCommand, CommandError

from tasks_app import provinces
from tasks_app.models import Official, Unit

CITY_ACCOUNTS = [
    ("city-leader", "31", "Phó Chủ tịch UBND thành phố (demo)", "Phó Chủ tịch UBND thành phố", Official.Role.LEADER),
    (
        "city-office",
        "VP-UBND",
        "Chuyên viên Văn phòng UBND thành phố (demo)",
        "Chuyên viên theo dõi",
        Official.Role.OFFICE,
    ),
    (
        "city-inspector",
        "TTR-TP",
        "Thanh tra viên Thanh tra thành phố (demo)",
        "Thanh tra viên",
        Official.Role.INSPECTOR,
    ),
]


class Command(BaseCommand):
    help = "Load Hải Phòng's units (city, departments, 114 communes) and their heads. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--demo-password", help="also create demo sign-ins with this password")

    def handle(self, *args, demo_password=None, **options):
        if demo_password is not None and len(demo_password) < 8:
            raise CommandError("--demo-password must be at least 8 characters")
        (source,) = provinces.province_sources([provinces.HAIPHONG])
        if len(source.communes) != 114:
            raise CommandError(
                f"expected 114 commune-level units for Hải Phòng, the package gives {len(source.communes)}"
            )
        result = provinces.load([source], demo_password=demo_password, extra_people=CITY_ACCOUNTS)
        city = Unit.objects.filter(code=provinces.HAIPHONG)
        counts = {kind: Unit.objects.filter(parent__in=city, kind=kind).count() for kind in Unit.Kind.values}
        self.stdout.write(
            f"Hải Phòng: {counts['ward']} phường, {counts['commune']} xã, {counts['special_zone']} đặc khu, "
            f"{counts['department']} sở/ngành."
        )
        if demo_password and result.accounts_created:
            self.stdout.write("Tài khoản demo (mật khẩu như --demo-password):")
            self.stdout.write("  city-leader  — lãnh đạo thành phố, có thẩm quyền (nghiệm thu, gia hạn, hủy)")
            self.stdout.write("  city-office  — Văn phòng UBND thành phố, theo dõi toàn bộ kế hoạch")
            self.stdout.write("  city-inspector — Thanh tra thành phố, kiểm tra thực địa mọi đơn vị của thành phố")
            self.stdout.write(
                "  head-<mã đơn vị> — người đứng đầu mỗi đơn vị, ví dụ head-10507 (Phường Thành Đông), head-SO-TC (Sở Tài chính)"
            )
            self.stdout.write(f"  ({len(result.accounts_created)} tài khoản mới)")
