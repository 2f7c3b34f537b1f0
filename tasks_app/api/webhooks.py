"""Webhooks: one delivery row per (event, endpoint) written in the same transaction as the change,
sent by Celery only after it commits, so a rolled-back change announces nothing.

Signature: header `X-Webhook-Signature: t=<unix time>,v1=<hex>` where
hex = HMAC-SHA256(endpoint secret, f"{t}.".encode() + body). Receivers recompute it and refuse a
timestamp older than a few minutes (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.dispatch import receiver
from django.utils import timezone
from django.utils.module_loading import import_string

from tasks_app import events
from tasks_app.api.models import WebhookDelivery, WebhookEndpoint

SIGNATURE_HEADER = "X-Webhook-Signature"
# How old a signed timestamp a receiver should accept; documented for receivers, used by verify().
TOLERANCE_SECONDS = 300


# --- where a webhook may be sent (ASVS 5.0 1.3.6, 13.2.4) ------------------------------------
#
# Checked at registration and again at every attempt, on the addresses the name resolves to then;
# the request is then connected to the very address that was checked (tasks.py pins it), so a name
# that resolves to a public address at the check and to 127.0.0.1 a moment later (DNS rebinding)
# never reaches the inside. Redirects are never followed.


class DestinationRefused(Exception):
    """The URL's host does not resolve, or resolves to an address a webhook may not reach."""


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses of a host name, as the operating system resolves them (the default resolver)."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def address_allowed(address: str) -> bool:
    """A global unicast address: not loopback, private, link-local, multicast, reserved, unspecified,
    shared (100.64/10) or an IPv4 address hidden in IPv6 (mapped, 6to4, Teredo) that is one of those."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None or ip.is_site_local:
            return False
    return ip.is_global and not (
        ip.is_multicast or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_unspecified or ip.is_private
    )


def checked_address(url: str) -> str:
    """The address to connect to for this URL now, after checking every address its host resolves
    to; DestinationRefused if there is none or any is not allowed (a name answering one public and
    one private address is refused, not gambled on)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DestinationRefused(f"not an http(s) URL: {url[:200]}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            addresses = [str(ipaddress.ip_address(parts.hostname))]  # a literal address: nothing to resolve
        except ValueError:
            addresses = import_string(settings.WEBHOOK_RESOLVER)(parts.hostname, port)
    except (OSError, UnicodeError, ValueError) as exc:
        raise DestinationRefused(f"{parts.hostname} does not resolve: {exc}") from exc
    if not addresses:
        raise DestinationRefused(f"{parts.hostname} does not resolve")
    if not settings.WEBHOOK_ALLOW_PRIVATE_URLS:
        for address in addresses:
            if not address_allowed(address):
                raise DestinationRefused(f"{parts.hostname} resolves to {address}, not a public address")
    return addresses[0]


def sign(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, body: bytes, header: str, *, now: float | None = None) -> bool:
    """What a receiver does (also in the README): recompute, compare in constant time, check age."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - timestamp) > TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(sign(secret, body, timestamp), f"t={timestamp},v1={parts.get('v1', '')}")


def payload(assignment, event: str, event_id, actor_label: str, data: dict) -> str:
    return json.dumps(
        {
            "id": str(event_id),
            "event": event,
            "occurred_at": timezone.now(),
            "actor": actor_label,
            "assignment": {
                "id": assignment.pk,
                "task": assignment.task.code,
                "unit": assignment.unit.code,
                "role": assignment.role,
                "status": assignment.status,
                "progress": assignment.progress,
                "deadline": assignment.deadline,
                "version": assignment.version,
                "updated_at": assignment.updated_at,
            },
            "data": data,
        },
        cls=DjangoJSONEncoder,
        ensure_ascii=False,
        sort_keys=True,
    )


@receiver(events.assignment_event, dispatch_uid="tasks_api.record_webhook_deliveries")
def record_deliveries(sender, assignment, event, actor_label="", data=None, **kwargs):
    _record([assignment], event, actor_label, data or {})


@receiver(events.assignments_event, dispatch_uid="tasks_api.record_webhook_deliveries_many")
def record_many_deliveries(sender, assignments, event, actor_label="", data=None, each=None, **kwargs):
    _record(assignments, event, actor_label, data or {}, each)


def _record(assignments, event: str, actor_label: str, data: dict, each: dict[int, dict] | None = None) -> None:
    """One delivery per (assignment, endpoint that wants the event and sees the assignment): one
    query for the endpoints and one insert, however many assignments (`each`: extra data by
    assignment id, see `events.send_many`)."""
    from tasks_app.api.tasks import deliver_webhook

    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(is_active=True, api_key__revoked=False).select_related("api_key")
        if event in endpoint.events
    ]
    if not endpoints:
        return
    deliveries = []
    for assignment in assignments:
        for endpoint in endpoints:
            if endpoint.sees(assignment):
                delivery = WebhookDelivery(
                    endpoint=endpoint, url=endpoint.url, event=event, assignment_id=assignment.pk
                )
                delivery.body = payload(
                    assignment, event, delivery.event_id, actor_label, events.data_for(assignment, data, each)
                )
                deliveries.append(delivery)
    if not deliveries:
        return
    WebhookDelivery.objects.bulk_create(deliveries)
    for delivery in deliveries:
        # After commit only: nothing leaves for a change that is rolled back.
        deliver_webhook.delay_on_commit(delivery.pk)
