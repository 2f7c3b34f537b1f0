"""`manage.py reminders --dry-run [--date D]`: what would be sent on day D and to whom.
`manage.py reminders --run [--date D]`: run day D's sweep and send now (an operator catching up a
day the system was down); as idempotent as the beat's run — what is in the ledger is not sent again."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from tasks_app.models import Assignment, Official
from tasks_app.reminders.channels import ChannelError
from tasks_app.reminders.models import Delivery
from tasks_app.reminders.policy import local_now
from tasks_app.reminders.sender import deliver
from tasks_app.reminders.sweep import plan_day, run_sweep


def _pages(rows, size):
    page = []
    for row in rows:
        page.append(row)
        if len(page) == size:
            yield page
            page = []
    if page:
        yield page


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--date {value!r} is not a date (YYYY-MM-DD)") from exc


class Command(BaseCommand):
    help = "Preview (--dry-run) or run and send (--run) the reminders of a day (default today)."

    def add_arguments(self, parser):
        mode = parser.add_mutually_exclusive_group(required=True)
        mode.add_argument("--dry-run", action="store_true", help="show what would be sent; change nothing")
        mode.add_argument("--run", action="store_true", help="record the day's reminders and send them now")
        parser.add_argument("--date", help="the day, YYYY-MM-DD (default: today, Asia/Ho_Chi_Minh)")
        parser.add_argument(
            "--limit", type=int, default=1000, help="--dry-run lists at most this many rows (0: all); default 1000"
        )

    def handle(self, *args, **options):
        now = local_now()
        day = _date(options["date"]) if options["date"] else now.date()
        if day > now.date():
            if options["run"]:
                raise CommandError(f"--run cannot send the reminders of a future day ({day}); use --dry-run")
        if options["limit"] < 0:
            raise CommandError(f"--limit {options['limit']} must be 0 (all) or more")
        if options["dry_run"]:
            self._preview(day, options["limit"] or None)
        else:
            self._run(day)

    def _preview(self, day, limit):
        plan = plan_day(day, force=True)
        if not plan.working_day:
            self.stdout.write(f"{day:%d/%m/%Y}: not a working day, nothing due")
            return
        rows, assignments = plan.counts()
        self.stdout.write(f"{day:%d/%m/%Y}: {rows} reminder(s) due for {assignments} assignment(s)")
        # A page of rows at a time, streamed: a national-scale day has hundreds of thousands.
        shown = 0
        for page in _pages(plan.rows(limit), 500):
            found = Assignment.objects.select_related("task", "unit").in_bulk({p.assignment_id for p in page})
            officials = Official.objects.in_bulk({p.recipient_id for p in page})
            for p in page:
                a = found[p.assignment_id]
                note = f"  SKIPPED: {p.skip_reason}" if p.skip_reason else ""
                self.stdout.write(
                    f"{officials[p.recipient_id].full_name} [{p.role}] via {p.channel}: "
                    f"{a.task.code} {a.unit.name} — {p.stage.key}{note}"
                )
            shown += len(page)
        if shown < rows:
            self.stdout.write(f"… {rows - shown} more (--limit 0 lists them all)")

    def _run(self, day):
        result = run_sweep(day, force=True)
        self.stdout.write(result.summary())
        # Every recipient with a row of the day to send, recorded now or by an earlier run.
        pairs = set(
            Delivery.objects.filter(day=day, status=Delivery.Status.PENDING).values_list("recipient_id", "channel")
        )
        sent = failed = 0
        for recipient_id, channel in sorted(pairs):
            try:
                sent += deliver(recipient_id, channel, force=True).sent
            except ChannelError as exc:
                failed += 1
                self.stderr.write(f"official {recipient_id} via {channel}: {exc} (recorded; will be retried)")
        self.stdout.write(f"sent {sent} reminder(s); {failed} recipient/channel send(s) failed")
