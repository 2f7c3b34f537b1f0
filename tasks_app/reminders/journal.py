"""The acceptance journal: where a sender notes "the provider accepted message K carrying rows R"
before it records `sent` in the database, so that neither a database outage nor the sender's death
between the two can turn an accepted message into a resent one.

Each sender process appends to a file of its own under REMINDER_JOURNAL_DIR (fsync'ed line of
JSON per accepted message) and holds an exclusive `flock` on it for as long as it lives. When the
database has recorded the message, the process drops the entry. Any sender, before it claims
rows, replays the files whose lock it can take — those of processes that died — marking their rows
sent, and deletes them. A worker killed after the provider's acceptance therefore leaves a file
that the next sender on the same host replays; the rows are not sent again. (A host lost with its
disk loses its journal: those rows are sent again after the claim timeout, with the same
Message-ID / tracking id, which is the remaining, detectable duplicate.)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.db.utils import Error as DatabaseFailure
from django.utils import timezone

from .models import Delivery

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Acceptance:
    """A message the provider accepted: its key (Message-ID / tracking id), rows and provider id."""

    key: str
    row_ids: list[int]
    provider_id: str
    sent_at: str  # ISO 8601, UTC


def record(entry: Acceptance) -> int:
    """Mark the entry's rows sent (idempotent: rows already sent, or re-keyed since, are left)."""
    return (
        Delivery.objects.filter(pk__in=entry.row_ids, message_key=entry.key)
        .exclude(status=Delivery.Status.SENT)
        .update(
            status=Delivery.Status.SENT,
            sent_at=dt.datetime.fromisoformat(entry.sent_at),
            provider_id=entry.provider_id[:200],
            last_error="",
            claim_token="",
        )
    )


def until_database_answers(work: Callable[[], int]) -> int:
    """Run `work` (one statement) again and again while the database is unreachable: from 0.1 s
    between tries up to 5 s, for at most REMINDER_RECORD_PATIENCE seconds, then raise (the
    journal keeps the acceptance for a later replay)."""
    give_up = time.monotonic() + settings.REMINDER_RECORD_PATIENCE
    pause = 0.1
    while True:
        try:
            return work()
        except DatabaseFailure:  # OperationalError, InterfaceError ("connection already closed")…
            if time.monotonic() >= give_up:
                raise
            log.warning("reminders: the database did not answer; recording again in %.1f s", pause)
            with contextlib.suppress(DatabaseFailure):
                connection.close()  # a broken connection is not reused; the next try opens a new one
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


class Journal:
    """This process's journal file (opened on first use, locked while the process lives)."""

    def __init__(self):
        self.pid: int | None = None
        self.file = None
        self.pending: list[Acceptance] = []

    @staticmethod
    def directory() -> Path:
        path = Path(settings.REMINDER_JOURNAL_DIR)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _open(self):
        if self.pid != os.getpid():  # first use, or a forked child: a file of its own
            self.pid = os.getpid()
            name = f"sender-{self.pid}-{secrets.token_hex(4)}.jsonl"
            self.file = open(self.directory() / name, "a+", encoding="utf-8")  # noqa: SIM115 (held for life)
            fcntl.flock(self.file, fcntl.LOCK_EX)
            self.pending = []
        return self.file

    def _write_pending(self):
        f = self._open()
        f.seek(0)
        f.truncate()
        for entry in self.pending:
            f.write(json.dumps(asdict(entry)) + "\n")
        f.flush()
        os.fsync(f.fileno())

    def note(self, entry: Acceptance) -> None:
        """Append the acceptance and make it durable before anything else happens."""
        f = self._open()
        self.pending.append(entry)
        f.seek(0, os.SEEK_END)
        f.write(json.dumps(asdict(entry)) + "\n")
        f.flush()
        os.fsync(f.fileno())

    def forget(self, entry: Acceptance) -> None:
        self.pending = [e for e in self.pending if e != entry]
        self._write_pending()

    def record_pending(self) -> None:
        """Record this process's acceptances that an earlier outage left unrecorded."""
        for entry in list(self.pending):
            record(entry)
            self.forget(entry)


JOURNAL = Journal()


def note_and_record(key: str, row_ids: list[int], provider_id: str) -> int:
    """After the provider accepted: journal first, then the database (retried until it answers)."""
    entry = Acceptance(key, sorted(row_ids), provider_id, timezone.now().isoformat())
    JOURNAL.note(entry)
    count = until_database_answers(lambda: record(entry))
    JOURNAL.forget(entry)
    return count


def replay() -> int:
    """Record the acceptances of dead senders (files whose lock is free) and of this process."""
    JOURNAL.record_pending()
    replayed = 0
    for path in sorted(Journal.directory().glob("sender-*.jsonl")):
        if JOURNAL.file is not None and path == Path(JOURNAL.file.name):
            continue
        try:
            f = open(path, encoding="utf-8")  # noqa: SIM115
        except FileNotFoundError:
            continue  # replayed and removed by another sender just now
        with f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its process is alive and records its own entries
            for line in f:
                if line.strip():
                    replayed += record(Acceptance(**json.loads(line)))
            path.unlink(missing_ok=True)
    if replayed:
        log.warning("reminders: %s row(s) accepted by a provider before their sender died recorded as sent", replayed)
    return replayed
