"""Celery tasks of the core app: the password-reset mail, sent by a worker, never in the request."""

from __future__ import annotations

import smtplib

from celery import shared_task
from django.contrib.auth.forms import PasswordResetForm
from django.utils import translation


@shared_task(
    name="accounts.send_password_reset",
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=30,
    max_retries=5,
    ignore_result=True,
)
def send_password_reset(email: str, domain: str, use_https: bool, language: str) -> None:
    """Mail a reset link to every active account with this address (none: nothing is sent)."""
    with translation.override(language):
        form = PasswordResetForm({"email": email})
        if form.is_valid():
            form.save(domain_override=domain, use_https=use_https)


@shared_task(name="counts.roll", ignore_result=True)
def roll_counts() -> None:
    """Move the maintained counts' day to today and fold their deltas (tasks_app.counts): the
    dashboard is exact without it, and reads less the closer the counts' day is to today."""
    from tasks_app import counts, lifecycle

    counts.roll(lifecycle.local_today())
