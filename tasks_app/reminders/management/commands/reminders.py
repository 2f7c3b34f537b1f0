"""`manage.py reminders --dry-run [--date D]`: what would be sent on day D and to whom.
`manage.py reminders --run [--date D]`: run day D's sweep and send now (an operator catching up a
day the system was down); as idempotent as the beat's run — what is in the ledger is not sent again."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from tasks_app.models import Assignment, Official
from tasks_app.reminders.channels import ChannelError
from tasks_app.reminders.policy import local_now
from tasks_app.reminders.sender import deliver
from tasks_app.reminders.sweep import plan_day, run_sweep


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

    def handle(self, *args, **options):
        now = local_now()
        day = _date(options["date"]) if options["date"] else now.date()
        if day > now.date():
            if options["run"]:
                raise CommandError(f"--run cannot send the reminders of a future day ({day}); use --dry-run")
        if options["dry_run"]:
            self._preview(day)
        else:
            self._run(day)

    def _preview(self, day):
        result = plan_day(day, force=True)
        self.stdout.write(result.summary())
        assignments = Assignment.objects.select_related("task", "unit").in_bulk(
            {p.assignment_id for p in result.planned}
        )
        officials = Official.objects.in_bulk({p.recipient_id for p in result.planned})
        for p in sorted(result.planned, key=lambda p: (p.recipient_id, p.channel, p.assignment_id)):
            a = assignments[p.assignment_id]
            note = f"  SKIPPED: {p.skip_reason}" if p.skip_reason else ""
            self.stdout.write(
                f"{officials[p.recipient_id].full_name} [{p.role}] via {p.channel}: "
                f"{a.task.code} {a.unit.name} — {p.stage.key}{note}"
            )

    def _run(self, day):
        result = run_sweep(day, force=True)
        self.stdout.write(result.summary())
        pairs = {(p.recipient_id, p.channel) for p in result.planned if not p.skip_reason}
        sent = failed = 0
        for recipient_id, channel in sorted(pairs):
            try:
                sent += deliver(recipient_id, channel, force=True).sent
            except ChannelError as exc:
                failed += 1
                self.stderr.write(f"official {recipient_id} via {channel}: {exc} (recorded; will be retried)")
        self.stdout.write(f"sent {sent} reminder(s); {failed} recipient/channel send(s) failed")
