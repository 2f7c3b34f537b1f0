"""Celery tasks of the API: webhook delivery, one row at a time, and the dispatcher that re-enqueues
every row still due (the row is the queue; a Celery message is only a nudge).

Sent with `requests` to the address `webhooks.checked_address` resolved and checked for this
attempt (the connection is pinned to it; TLS still checks the certificate for the host name), with
no redirects followed (a 3xx is a failed attempt) and no proxy from the environment.
"""

from __future__ import annotations

import datetime as dt
import time

import requests
from celery import shared_task
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util.connection import create_connection

from tasks_app.api.models import WebhookDelivery
from tasks_app.api.webhooks import SIGNATURE_HEADER, DestinationRefused, checked_address, sign

# How many due rows one dispatcher run enqueues; the next run takes the rest.
DISPATCH_BATCH = 1000


def claim_timeout() -> dt.timedelta:
    """A claim older than this is taken to be from a worker that died mid-send (> WEBHOOK_TIMEOUT)."""
    return dt.timedelta(seconds=settings.WEBHOOK_CLAIM_TIMEOUT)


def backoff(attempts: int) -> dt.timedelta:
    """After the n-th failed attempt: base × 2^(n-1), at most WEBHOOK_RETRY_MAX_SECONDS."""
    seconds = settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)
    return dt.timedelta(seconds=min(seconds, settings.WEBHOOK_RETRY_MAX_SECONDS))


def _pinned(pool_class, address: str):
    """The pool class whose connections open their socket to `address`; everything else (Host
    header, TLS server name and certificate check) stays the URL's host name."""

    class Connection(pool_class.ConnectionCls):
        def _new_conn(self):
            try:
                return create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError as exc:
                raise ConnectTimeoutError(self, f"connection to {address} timed out") from exc
            except OSError as exc:
                raise NewConnectionError(self, f"cannot connect to {address}: {exc}") from exc

    class Pinned(pool_class):
        ConnectionCls = Connection

    return Pinned


class PinnedAddressAdapter(HTTPAdapter):
    """Connects to one checked address whatever the URL's host name resolves to by then."""

    def __init__(self, address: str):
        self.address = address
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _pinned(HTTPConnectionPool, self.address),
            "https": _pinned(HTTPSConnectionPool, self.address),
        }


def post(url: str, address: str, body: bytes, headers: dict[str, str]) -> requests.Response:
    with requests.Session() as session:
        session.trust_env = False  # no proxy or .netrc from the environment
        adapter = PinnedAddressAdapter(address)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        response = session.post(
            url, data=body, headers=headers, timeout=settings.WEBHOOK_TIMEOUT, allow_redirects=False, stream=True
        )
        response.close()  # the receiver's body is not read: only its status counts
        return response


@shared_task(name="webhooks.deliver")
def deliver_webhook(delivery_id: int) -> str:
    now = timezone.now()
    # Claim the row: only one worker sends it, a sent or dead row is never sent again, and a row
    # waiting for its backoff is not sent early by a second copy of the message.
    claimed = WebhookDelivery.objects.filter(
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - claim_timeout()),
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        pk=delivery_id,
        sent_at__isnull=True,
        dead_at__isnull=True,
        endpoint__is_active=True,
    ).update(claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return "skipped"
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if endpoint is None:  # deleted since the claim: the log row stays, nothing is sent
        return "skipped"
    body = delivery.body.encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "haiphong-accountability-webhooks/1",
        "X-Webhook-Id": str(delivery.event_id),
        "X-Webhook-Event": delivery.event,
        SIGNATURE_HEADER: sign(endpoint.secret, body, int(time.time())),
    }
    code = None
    try:
        address = checked_address(endpoint.url)
        code = post(endpoint.url, address, body, headers).status_code
    except DestinationRefused as exc:
        error = f"refused: {exc}"
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"
    else:
        if 200 <= code < 300:
            WebhookDelivery.objects.filter(pk=delivery_id).update(
                sent_at=timezone.now(), claimed_at=None, response_status=code, last_error=""
            )
            return "sent"
        error = f"HTTP {code}" + (" (redirect not followed)" if 300 <= code < 400 else "")
    failed = {"claimed_at": None, "response_status": code, "last_error": error[:2000]}
    if delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        WebhookDelivery.objects.filter(pk=delivery_id).update(dead_at=timezone.now(), **failed)
        return "dead"
    wait = backoff(delivery.attempts)
    WebhookDelivery.objects.filter(pk=delivery_id).update(next_attempt_at=timezone.now() + wait, **failed)
    # A nudge at the time it is due; if the message is lost, the dispatcher finds the row anyway.
    deliver_webhook.apply_async(args=[delivery_id], countdown=wait.total_seconds())
    return "retry"


def due_deliveries(now: dt.datetime):
    return WebhookDelivery.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - claim_timeout()),
        sent_at__isnull=True,
        dead_at__isnull=True,
        endpoint__is_active=True,
    )


@shared_task(name="webhooks.dispatch")
def dispatch_webhooks() -> int:
    """Run by the beat every minute: enqueue every delivery due, the way reminders are dispatched, so
    an event whose message was lost (Redis restarted, worker killed) is still delivered."""
    ids = list(
        due_deliveries(timezone.now()).order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:DISPATCH_BATCH]
    )
    for delivery_id in ids:
        deliver_webhook.delay(delivery_id)
    return len(ids)
