"""Load one province, several, or all 34: the province, its commune-level units with their
official codes and kinds (from `vietnamadminunits`), a default set of departments and a head for
each. Idempotent: a second run changes nothing.

    manage.py load_province 01 [--demo-password P]
    manage.py load_province --all
    manage.py load_province --national-office --demo-password P
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tasks_app import provinces


class Command(BaseCommand):
    help = "Load provinces' real units (one CODE, several, or --all) and their heads; --national-office. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("codes", nargs="*", metavar="CODE", help="province code, e.g. 31 (Hải Phòng), 01 (Hà Nội)")
        parser.add_argument("--all", action="store_true", help="the 34 provinces and their 3,321 communes")
        parser.add_argument(
            "--national-office", action="store_true", help="also the read-only national monitor `national-office`"
        )
        parser.add_argument("--demo-password", help="also create demo sign-ins with this password")

    def handle(self, *args, codes=(), all=False, national_office=False, demo_password=None, **options):
        if demo_password is not None and len(demo_password) < 8:
            raise CommandError("--demo-password must be at least 8 characters")
        if all and codes:
            raise CommandError("Give province codes or --all, not both.")
        if not (all or codes or national_office):
            raise CommandError("Give a province code (e.g. 31), --all or --national-office.")
        try:
            sources = provinces.province_sources(None if all else codes) if (all or codes) else []
        except ValidationError as exc:
            raise CommandError(exc.messages[0]) from exc
        result = provinces.load(sources, demo_password=demo_password, national_office=national_office)
        for src in sources:
            self.stdout.write(f"{src.code} {src.name}: {len(src.communes)} đơn vị cấp xã")
        self.stdout.write(
            f"{result.provinces} tỉnh, thành phố; {result.communes} đơn vị cấp xã; "
            f"{result.units_created} đơn vị mới, {result.units_changed} đơn vị được sửa."
        )
        if demo_password and result.accounts_created:
            self.stdout.write("Tài khoản demo (mật khẩu như --demo-password):")
            self.stdout.write("  leader-<mã tỉnh>  — lãnh đạo tỉnh, thành phố, có thẩm quyền")
            self.stdout.write("  office-<mã tỉnh>  — Văn phòng UBND tỉnh, thành phố, theo dõi")
            self.stdout.write("  head-<mã đơn vị>  — người đứng đầu mỗi đơn vị, ví dụ head-10507")
            if national_office:
                self.stdout.write("  national-office   — theo dõi toàn quốc, chỉ đọc")
            self.stdout.write(f"  ({len(result.accounts_created)} tài khoản mới)")
