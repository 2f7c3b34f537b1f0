"""manage.py import_plan FILE.xlsx [--dry-run] [--year 2026] [--plan "name"]"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tasks_app.importers import PlanImportError, import_plan


class Command(BaseCommand):
    help = "Import a plan's task appendix from Excel (.xlsx): all rows or none; --dry-run only checks."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the appendix (.xlsx)")
        parser.add_argument("--dry-run", action="store_true", help="check and show what would be created")
        parser.add_argument("--year", type=int, default=2026, help="the plan's year (default 2026)")
        parser.add_argument("--plan", dest="plan_name", help="the plan's name (created if missing)")

    def handle(self, *args, file, dry_run, year, plan_name, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"Không tìm thấy tệp / file not found: {path}")
        try:
            result = import_plan(path.read_bytes(), year=year, name=plan_name, dry_run=dry_run, filename=path.name)
        except PlanImportError as exc:
            lines = [f"  - {problem}" for problem in exc.problems]
            raise CommandError(
                "Không nhập tệp (không thay đổi gì) / file refused, nothing changed:\n" + "\n".join(lines)
            ) from exc
        if dry_run:
            for row in result.tasks:
                lead = "UBND các xã, phường, đặc khu" if row.fans_out else "; ".join(u.name for u in row.lead)
                self.stdout.write(f"  {row.code}  {row.title[:60]}  → {lead} ({len(row.lead) + len(row.coordinating)})")
        self.stdout.write(self.style.SUCCESS(result.summary()))
