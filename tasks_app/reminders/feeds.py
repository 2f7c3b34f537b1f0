"""Per-user feeds of deadlines at secret-token URLs: Atom (feedgen) and iCalendar (icalendar), so a
phone's calendar app can subscribe without a login. Also the in-app feed for the notifications page.

The token is the only credential: regenerating it (`FeedToken.regenerate`) revokes the old URLs.
"""

from __future__ import annotations

import datetime as dt

import icalendar
from django.conf import settings
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils import timezone
from feedgen.feed import FeedGenerator

from tasks_app.lifecycle import local_tz
from tasks_app.models import Assignment

from .channels import assignment_url
from .models import FeedItem, FeedToken

# A feed lists the nearest deadlines first; a calendar holding thousands of events helps nobody.
FEED_LIMIT = 500


def feed_for(user):
    """The user's in-app reminders, newest first (unread ones carry read_at=None)."""
    return (
        FeedItem.objects.filter(official__user=user)
        .select_related(
            "assignment__task",
            "assignment__unit",
            "handoff__extension",
            "handoff__assignment__task",
            "handoff__assignment__unit",
        )
        .order_by("-created_at", "-id")
    )


def feed_token(user) -> FeedToken:
    token, _ = FeedToken.objects.get_or_create(user=user)
    return token


def feed_urls(user) -> dict[str, str]:
    """Absolute Atom and iCalendar URLs of the user's deadline feeds (creates the token once)."""
    token = feed_token(user).token
    return {
        "atom": settings.SITE_URL + reverse("reminders:deadlines-atom", args=[token]),
        "ics": settings.SITE_URL + reverse("reminders:deadlines-ics", args=[token]),
    }


def deadlines_for(user):
    """Open assignments the user answers for, heads or holds authority over (within what they may
    see): a leader's calendar holds their own decisions, not the whole city's plan."""
    qs = Assignment.objects.visible_to(user).open().filter(deadline__isnull=False)
    official = getattr(user, "official", None)
    if official is not None:
        qs = qs.filter(Q(responsible=official) | Q(authority=official) | Q(unit_id=official.unit_id))
    return qs.select_related("task", "unit", "responsible").order_by("deadline", "id")[:FEED_LIMIT]


def _user_for(token: str):
    row = FeedToken.objects.select_related("user__official").filter(token=token).first()
    if row is None or not row.user.is_active:
        raise Http404
    return row.user


def _domain() -> str:
    return settings.SITE_URL.split("//", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "localhost"


def deadlines_atom(request, token: str):
    user = _user_for(token)
    now = timezone.now()
    fg = FeedGenerator()
    fg.id(f"tag:{_domain()},2026:deadlines:{user.pk}")
    fg.title(f"Thời hạn nhiệm vụ — {getattr(getattr(user, 'official', None), 'full_name', user.get_username())}")
    fg.author({"name": "Theo dõi nhiệm vụ"})
    fg.link(href=request.build_absolute_uri(), rel="self")
    fg.link(href=settings.SITE_URL + "/", rel="alternate")
    fg.language("vi")
    fg.updated(now)
    # feedgen writes entries in reverse order of adding; add the farthest deadline first.
    for a in reversed(list(deadlines_for(user))):
        entry = fg.add_entry()
        entry.id(f"tag:{_domain()},2026:assignment:{a.pk}:{a.deadline.isoformat()}")
        entry.title(f"[{a.deadline:%d/%m/%Y}] {a.task.code} {a.task.title} — {a.unit.name}")
        entry.link(href=assignment_url(a.pk))
        entry.updated(a.updated_at)
        entry.summary(
            f"Thời hạn: {a.deadline:%d/%m/%Y}. Trạng thái: {a.get_status_display()}. Tiến độ: {a.progress}%. "
            f"Cán bộ chịu trách nhiệm: {a.responsible.full_name if a.responsible else '—'}."
        )
    response = HttpResponse(fg.atom_str(pretty=True), content_type="application/atom+xml; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    return response


def deadlines_ics(request, token: str):
    user = _user_for(token)
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Hai Phong accountability tracker//deadlines//VI")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "Thời hạn nhiệm vụ")
    cal.add("x-wr-timezone", str(local_tz()))
    stamp = timezone.now()
    for a in deadlines_for(user):
        event = icalendar.Event()
        # The UID stays with the assignment; a new deadline moves the same event.
        event.add("uid", f"assignment-{a.pk}@{_domain()}")
        event.add("dtstamp", stamp)
        event.add("dtstart", a.deadline)  # an all-day event on the deadline (a date, not a time)
        event.add("dtend", a.deadline + dt.timedelta(days=1))
        event.add("summary", f"Hạn: {a.task.code} {a.task.title}")
        event.add(
            "description",
            f"{a.unit.name} — {a.get_status_display()}, {a.progress}%. "
            f"Sản phẩm: {a.effective_deliverable}. {assignment_url(a.pk)}",
        )
        event.add("url", assignment_url(a.pk))
        event.add("last-modified", a.updated_at)
        cal.add_component(event)
    response = HttpResponse(cal.to_ical(), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="deadlines.ics"'
    response["Cache-Control"] = "private, max-age=300"
    return response
