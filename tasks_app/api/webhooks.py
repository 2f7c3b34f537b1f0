"""Webhooks: one delivery row per (event, endpoint) written in the same transaction as the change,
sent by Celery only after it commits, so a rolled-back change announces nothing.

Signature: header `X-Webhook-Signature: t=<unix time>,v1=<hex>` where
hex = HMAC-SHA256(endpoint secret, f"{t}.".encode() + body). Receivers recompute it and refuse a
timestamp older than a few minutes (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from django.core.serializers.json import DjangoJSONEncoder
from django.dispatch import receiver
from django.utils import timezone

from tasks_app import events
from tasks_app.api.models import WebhookDelivery, WebhookEndpoint

SIGNATURE_HEADER = "X-Webhook-Signature"
# How old a signed timestamp a receiver should accept; documented for receivers, used by verify().
TOLERANCE_SECONDS = 300


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
def record_many_deliveries(sender, assignments, event, actor_label="", data=None, **kwargs):
    _record(assignments, event, actor_label, data or {})


def _record(assignments, event: str, actor_label: str, data: dict) -> None:
    """One delivery per (assignment, endpoint that wants the event and sees the assignment): one
    query for the endpoints and one insert, however many assignments."""
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
                delivery = WebhookDelivery(endpoint=endpoint, event=event, assignment_id=assignment.pk)
                delivery.body = payload(assignment, event, delivery.event_id, actor_label, data)
                deliveries.append(delivery)
    if not deliveries:
        return
    WebhookDelivery.objects.bulk_create(deliveries)
    for delivery in deliveries:
        # After commit only: nothing leaves for a change that is rolled back.
        deliver_webhook.delay_on_commit(delivery.pk)
