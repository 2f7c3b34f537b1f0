"""Celery tasks of the reminders. They take ids, are idempotent (the ledger decides what is sent)
and are enqueued after commit. The beat schedule that runs them is in settings.CELERY_BEAT_SCHEDULE;
the sweep and the dispatcher run on their own queue (settings.CELERY_TASK_ROUTES), which every
worker also consumes, so a backlog of sends cannot hold them back.

A (recipient, channel) send is queued once: `enqueue_send` marks it queued in the cache (Redis in
production) and the send task clears the mark when it starts, so the dispatcher's safety net queues
only what is neither queued nor claimed. A mark lost with Redis is a message lost with Redis too,
and the dispatcher queues the pair again; a mark outlives a lost message by REMINDER_QUEUED_TTL at most.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from celery import shared_task
from celery.signals import before_task_publish
from django.conf import settings
from django.core.cache import cache

from .channels import ChannelError
from .sender import deliver, due_pairs
from .sweep import run_sweep

log = logging.getLogger(__name__)

DISPATCH_LAG_KEY = "reminders:dispatch-lag"


def _queued_key(recipient_id: int, channel: str) -> str:
    return f"reminders:queued:{recipient_id}:{channel}"


def enqueue_send(recipient_id: int, channel: str) -> bool:
    """Queue a send of the pair unless one is already queued; whether it was queued."""
    if not cache.add(_queued_key(recipient_id, channel), 1, settings.REMINDER_QUEUED_TTL):
        return False
    send_reminders.delay(recipient_id, channel)
    return True


@before_task_publish.connect
def _stamp_publish_time(sender=None, headers=None, **kwargs):
    """The dispatcher measures its lag (publish to start) from this header."""
    if sender == "reminders.dispatch" and headers is not None:
        headers["published_at"] = time.time()


@shared_task(name="reminders.sweep", ignore_result=True)
def sweep() -> str:
    """Record today's reminders (from the send hour, on working days) and enqueue their delivery."""
    result = run_sweep(enqueue=enqueue_send)
    log.info("reminder sweep: %s", result.summary())
    return result.summary()


@shared_task(name="reminders.dispatch", bind=True, ignore_result=True)
def dispatch(self) -> int:
    """The safety net: enqueue every recipient with rows due now and not already queued — a retry
    whose message was lost with Redis, or rows claimed by a worker that died mid-send."""
    published = (self.request.headers or {}).get("published_at") or getattr(self.request, "published_at", None)
    if published:
        lag = time.time() - float(published)
        cache.set(DISPATCH_LAG_KEY, lag, None)
        log.info("reminder dispatch: started %.2f s after it was queued", lag)
    queued = sum(enqueue_send(recipient_id, channel) for recipient_id, channel in due_pairs())
    return queued


@shared_task(name="reminders.send", bind=True, ignore_result=True, max_retries=None)
def send_reminders(self, recipient_id: int, channel: str) -> int:
    """Send one recipient's due reminders on one channel; retry a channel failure when its rows
    are due again (exponential backoff, recorded in the ledger)."""
    cache.delete(_queued_key(recipient_id, channel))  # rows arriving from now on need a new send
    try:
        return deliver(recipient_id, channel).sent
    except ChannelError as exc:
        if exc.gave_up:
            log.warning("reminders to official %s by %s are dead: %s", recipient_id, channel, exc)
            raise
        countdown = (exc.retry_in or dt.timedelta()).total_seconds()  # the sender always sets it
        # The retry is queued (as a countdown): the dispatcher need not queue the pair meanwhile.
        cache.set(_queued_key(recipient_id, channel), 1, countdown + settings.REMINDER_QUEUED_TTL)
        raise self.retry(exc=exc, countdown=countdown) from exc
