"""Celery tasks of the reminders. They take ids, are idempotent (the ledger decides what is sent)
and are enqueued after commit. The beat schedule that runs them is in settings.CELERY_BEAT_SCHEDULE."""

from __future__ import annotations

import logging

from celery import shared_task

from . import handoffs
from .channels import ChannelError
from .sender import deliver, due_pairs, in_send_window
from .sweep import run_sweep

log = logging.getLogger(__name__)


def enqueue_send(recipient_id: int, channel: str) -> None:
    send_reminders.delay(recipient_id, channel)


@shared_task(name="reminders.sweep", ignore_result=True)
def sweep() -> str:
    """Record today's reminders (from the send hour, on working days) and enqueue their delivery."""
    result = run_sweep(enqueue=enqueue_send)
    log.info("reminder sweep: %s", result.summary())
    return result.summary()


@shared_task(name="reminders.dispatch", ignore_result=True)
def dispatch() -> int:
    """The safety net: enqueue every recipient with rows due now — a retry whose message was lost
    with Redis, or rows claimed by a worker that died mid-send."""
    if not in_send_window():
        return 0
    pairs = due_pairs()
    for recipient_id, channel in pairs:
        enqueue_send(recipient_id, channel)
    waiting = handoffs.due_pairs()
    for recipient_id, channel in waiting:
        handoffs.enqueue(recipient_id, channel)
    return len(pairs) + len(waiting)


@shared_task(name="reminders.send", bind=True, ignore_result=True, max_retries=None)
def send_reminders(self, recipient_id: int, channel: str) -> int:
    """Send one recipient's due reminders on one channel as one digest; retry a channel failure
    when its rows are due again (exponential backoff, recorded in the ledger)."""
    try:
        return deliver(recipient_id, channel).sent
    except ChannelError as exc:
        if exc.gave_up:
            log.warning("reminders to official %s by %s are dead: %s", recipient_id, channel, exc)
            raise
        raise self.retry(exc=exc, countdown=exc.retry_in.total_seconds()) from exc


@shared_task(name="reminders.send_handoffs", bind=True, ignore_result=True, max_retries=None)
def send_handoffs(self, recipient_id: int, channel: str) -> int:
    """Send one recipient's due handoff notices on one channel; retry a channel failure with backoff."""
    try:
        return handoffs.deliver(recipient_id, channel)
    except ChannelError as exc:
        if exc.gave_up:
            log.warning("handoff notices to official %s by %s are dead: %s", recipient_id, channel, exc)
            raise
        raise self.retry(exc=exc, countdown=exc.retry_in.total_seconds()) from exc
