"""`manage.py reminders --dry-run [--date D]`: the ledger of day D (sent, pending, failing, dead,
skipped), the day's digests (issue 14: what the sweep records, one per recipient, channel and day,
expanded into the ledger by the senders), what is not in the ledger yet, and what a `--run` now
would send.
`manage.py reminders --run [--date D] [--force]`: run day D's sweep and send now (an operator
catching up a day the system was down); as idempotent as the beat's run — what is in the ledger is
not sent again. Like the beat it keeps each plan's quiet hours unless --force is given."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, Q, Sum

from tasks_app.models import Assignment, Official
from tasks_app.reminders.channels import ChannelError
from tasks_app.reminders.models import Delivery, DueDigest
from tasks_app.reminders.policy import PolicyBook, local_now
from tasks_app.reminders.sender import claimable, deliver
from tasks_app.reminders.sweep import expand_day, plan_day, run_sweep


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
        mode.add_argument(
            "--dry-run", action="store_true", help="show the ledger and what would be sent; change nothing"
        )
        mode.add_argument("--run", action="store_true", help="record the day's reminders and send them now")
        parser.add_argument("--date", help="the day, YYYY-MM-DD (default: today, Asia/Ho_Chi_Minh)")
        parser.add_argument(
            "--force", action="store_true", help="with --run: send even outside the plans' send hours (quiet hours)"
        )
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
        if options["force"] and not options["run"]:
            raise CommandError("--force goes with --run only")
        if options["dry_run"]:
            self._preview(day, now, options["limit"] or None)
        else:
            self._run(day, now, options["force"])

    def _ledger(self, day, now):
        """The day's ledger by status; "failing" are pending rows that already failed at least once."""
        counts = Delivery.objects.filter(day=day).aggregate(
            total=Count("pk"),
            sent=Count("pk", filter=Q(status=Delivery.Status.SENT)),
            pending=Count("pk", filter=Q(status=Delivery.Status.PENDING, attempts=0)),
            failing=Count("pk", filter=Q(status=Delivery.Status.PENDING, attempts__gt=0)),
            sending=Count("pk", filter=Q(status=Delivery.Status.SENDING)),
            dead=Count("pk", filter=Q(status=Delivery.Status.DEAD)),
            skipped=Count("pk", filter=Q(status=Delivery.Status.SKIPPED)),
        )
        window = PolicyBook.load().sendable(now)
        counts["sendable"] = 0 if window is None else Delivery.objects.filter(claimable(now), window, day=day).count()
        return counts

    def _preview(self, day, now, limit):
        plan = plan_day(day, force=True)
        if not plan.working_day:
            self.stdout.write(f"{day:%d/%m/%Y}: not a working day, nothing due")
        rows, assignments = plan.counts()
        new_rows, _ = plan.counts(unrecorded=True)
        ledger = self._ledger(day, now)
        if plan.working_day:
            self.stdout.write(f"{day:%d/%m/%Y}: {rows} reminder(s) due for {assignments} assignment(s)")
        self.stdout.write(
            "ledger: {sent} sent, {pending} pending, {failing} failing (to be retried), {sending} being sent, "
            "{dead} dead, {skipped} skipped".format(**ledger)
        )
        digests = DueDigest.objects.filter(day=day).aggregate(
            pending=Count("pk", filter=Q(status=DueDigest.Status.PENDING)),
            expanded=Count("pk", filter=Q(status=DueDigest.Status.EXPANDED)),
            skipped=Count("pk", filter=Q(status=DueDigest.Status.SKIPPED)),
            skipped_items=Sum("items", filter=Q(status=DueDigest.Status.SKIPPED), default=0),
        )
        self.stdout.write(
            "digests (one per recipient and channel): {pending} pending (not yet in the ledger), {expanded} expanded, "
            "{skipped} skipped for a missing address ({skipped_items} reminder(s))".format(**digests)
        )
        quiet = PolicyBook.load().sendable(now) is None
        self.stdout.write(
            f"not yet in the ledger: {new_rows}; a --run now would send {ledger['sendable']} recorded row(s)"
            f" and the new ones{' (quiet hours now: only with --force)' if quiet else ''}"
        )
        shown = 0
        # What is not sent yet in the ledger (pending, failing, being sent, dead), then the new rows.
        waiting = (
            Delivery.objects.filter(day=day)
            .exclude(status__in=[Delivery.Status.SENT, Delivery.Status.SKIPPED])
            .select_related("assignment__task", "assignment__unit", "recipient")
            .order_by("recipient_id", "channel", "assignment_id")
        )
        for row in waiting[:limit] if limit else waiting.iterator(2000):
            error = f" — {row.last_error[:120]}" if row.last_error else ""
            self.stdout.write(
                f"{row.recipient.full_name} [{row.recipient_role}] via {row.channel}: {row.assignment.task.code} "
                f"{row.assignment.unit.name} — {row.stage}  {row.status.upper()} (attempts {row.attempts}){error}"
            )
            shown += 1
        # A page of rows at a time, streamed: a national-scale day has hundreds of thousands.
        remaining = None if limit is None else max(limit - shown, 0)
        if remaining != 0:
            for page in _pages(plan.rows(remaining, unrecorded=True), 500):
                found = Assignment.objects.select_related("task", "unit").in_bulk({p.assignment_id for p in page})
                officials = Official.objects.in_bulk({p.recipient_id for p in page})
                for p in page:
                    a = found[p.assignment_id]
                    note = f"  SKIPPED: {p.skip_reason}" if p.skip_reason else "  NEW"
                    self.stdout.write(
                        f"{officials[p.recipient_id].full_name} [{p.role}] via {p.channel}: "
                        f"{a.task.code} {a.unit.name} — {p.stage.key}{note}"
                    )
                shown += len(page)
        total = ledger["total"] - ledger["sent"] - ledger["skipped"] + new_rows
        if shown < total:
            self.stdout.write(f"… {total - shown} more (--limit 0 lists them all)")

    def _run(self, day, now, force):
        result = run_sweep(day, force=True)  # recording is not sending: the day's rows go in the ledger
        self.stdout.write(result.summary())
        expand_day(day)  # the day's digests become ledger rows, as each sender would do first
        if not force and PolicyBook.load().sendable(now) is None:
            held = Delivery.objects.filter(day=day, status=Delivery.Status.PENDING).count()
            self.stdout.write(
                f"quiet hours: no plan may send at {now:%H:%M}; {held} reminder(s) recorded, not sent — "
                "they go out when the send hours open (--force sends now)"
            )
            return
        # Every recipient with a row of the day to send, recorded now or by an earlier run.
        pairs = set(
            Delivery.objects.filter(day=day, status=Delivery.Status.PENDING).values_list("recipient_id", "channel")
        )
        sent = failed = 0
        for recipient_id, channel in sorted(pairs):
            try:
                sent += deliver(recipient_id, channel, force=force).sent
            except ChannelError as exc:
                failed += 1
                self.stderr.write(f"official {recipient_id} via {channel}: {exc} (recorded; will be retried)")
        held = Delivery.objects.filter(day=day, status=Delivery.Status.PENDING, attempts=0).count()
        quiet = f"; {held} held by their plan's quiet hours (--force sends now)" if held and not force else ""
        self.stdout.write(f"sent {sent} reminder(s); {failed} recipient/channel send(s) failed{quiet}")
