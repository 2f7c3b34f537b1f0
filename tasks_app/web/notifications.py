"""The notifications page's data: the in-app reminder feed and the Atom/iCalendar feed URLs.

Both come from the reminders area (`tasks_app.reminders.feeds`); this module only pages them.
"""

from django.core.paginator import Paginator
from django.utils import timezone

from tasks_app.reminders import feeds
from tasks_app.reminders.models import FeedItem

PAGE_SIZE = 15


def context_for(request) -> dict:
    user = request.user
    if getattr(user, "official", None) is None:
        return {"page": None, "feed_urls": None}
    page = Paginator(feeds.feed_for(user), PAGE_SIZE).get_page(request.GET.get("page"))
    unread = []
    for item in page:
        # Days before or past the deadline on the day the reminder came (as its e-mail and Zalo say).
        item.days = abs((item.deadline - timezone.localdate(item.created_at)).days)
        if item.read_at is None:
            unread.append(item.pk)
    # Shown once as new, then read: one update for the whole page.
    if unread:
        FeedItem.objects.filter(pk__in=unread, read_at__isnull=True).update(read_at=timezone.now())
    return {"page": page, "feed_urls": feeds.feed_urls(user)}
