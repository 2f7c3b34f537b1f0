"""The "Việc chờ tôi" page (`/inbox/`) and the count shown in every page's menu.

The queues themselves (who waits for whom, since when) are computed in `tasks_app.inbox`.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.functional import SimpleLazyObject

from tasks_app import inbox
from tasks_app.scope import actor_scope


@login_required
def inbox_page(request: HttpRequest) -> HttpResponse:
    scope = actor_scope(request.user)
    queues = inbox.queues(request.user)
    return render(
        request,
        "web/inbox.html",
        {"queues": queues, "scope": scope, "limit": inbox.LIMIT, "decided_days": inbox.DECIDED_DAYS},
    )


def inbox_count(request: HttpRequest) -> dict:
    """Context processor: the menu's count, computed only when a page shows it (two queries)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"inbox_count": SimpleLazyObject(lambda: inbox.counts(user))}
