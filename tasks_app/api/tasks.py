"""Celery tasks of the API: webhook delivery, one row at a time, retried with exponential backoff."""

from __future__ import annotations

import datetime as dt
import time
import urllib.error
import urllib.request

from celery import shared_task
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from tasks_app.api.models import WebhookDelivery
from tasks_app.api.webhooks import SIGNATURE_HEADER, sign

# A claim older than this is taken to be from a worker that died mid-send.
CLAIM_TIMEOUT = dt.timedelta(minutes=5)


class WebhookFailed(Exception):
    """The receiver did not answer 2xx (or could not be reached); the task retries."""


@shared_task(
    autoretry_for=(WebhookFailed,),
    retry_backoff=10,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=settings.WEBHOOK_MAX_ATTEMPTS - 1,
)
def deliver_webhook(delivery_id: int) -> str:
    now = timezone.now()
    # Claim the row: only one worker sends it, and a sent row is never sent again.
    claimed = WebhookDelivery.objects.filter(
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_TIMEOUT),
        pk=delivery_id,
        sent_at__isnull=True,
        endpoint__is_active=True,
    ).update(claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return "skipped"
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    body = delivery.body.encode()
    request = urllib.request.Request(  # noqa: S310 (the endpoint URL is validated as http(s) on registration)
        delivery.endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "haiphong-accountability-webhooks/1",
            "X-Webhook-Id": str(delivery.event_id),
            "X-Webhook-Event": delivery.event,
            SIGNATURE_HEADER: sign(delivery.endpoint.secret, body, int(time.time())),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.WEBHOOK_TIMEOUT) as response:  # noqa: S310
            code = response.status
    except urllib.error.HTTPError as exc:
        code, error = exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        code, error = None, f"{type(exc).__name__}: {exc}"
    else:
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            sent_at=timezone.now(), response_status=code, last_error=""
        )
        return "sent"
    # Release the claim and record why, so the retry (or the admin) sees it.
    WebhookDelivery.objects.filter(pk=delivery_id).update(
        claimed_at=None, response_status=code, last_error=error[:2000]
    )
    raise WebhookFailed(f"delivery {delivery_id}: {error}")
