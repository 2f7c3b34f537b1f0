"""Compare the maintained counts (tasks_app.counts) with the full GROUP BY; `--fix` recounts them."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from tasks_app import counts, lifecycle


class Command(BaseCommand):
    help = "Đối chiếu số liệu tổng hợp với GROUP BY toàn bộ / compare the maintained counts with the full GROUP BY"

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="recount from the assignments when they differ")
        parser.add_argument("--roll", action="store_true", help="move the counts' day to today and fold the deltas")

    def handle(self, *args, fix: bool = False, roll: bool = False, **options):
        if not counts.maintained():
            self.stdout.write("counts are maintained on PostgreSQL only; nothing to compare")
            return
        today = lifecycle.local_today()
        if roll:
            counts.roll(today)
        problems = counts.reconcile(today)
        if not problems:
            self.stdout.write(f"{today:%d/%m/%Y}: counts equal the GROUP BY (both deadline bases)")
            return
        for line in problems[:50]:
            self.stdout.write(line)
        if len(problems) > 50:
            self.stdout.write(f"… {len(problems) - 50} more")
        if not fix:
            raise CommandError(f"{len(problems)} difference(s); run with --fix to recount")
        counts.rebuild(today)
        left = counts.reconcile(today)
        if left:
            raise CommandError(f"still {len(left)} difference(s) after recounting")
        self.stdout.write(f"recounted: {len(problems)} difference(s) fixed")
