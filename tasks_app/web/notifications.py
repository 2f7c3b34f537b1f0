"""The notifications page's data: the in-app reminder feed and the Atom/iCalendar feed URLs.

Both come from the reminders area (`tasks_app.reminders.feeds`); this module only pages them.
"""

from django.core.paginator import Paginator

try:
    from tasks_app.reminders import feeds
except ImportError:  # until the reminders area lands its feeds, the page shows its empty state
    feeds = None

PAGE_SIZE = 30


def context_for(request) -> dict:
    user = request.user
    if feeds is None or getattr(user, "official", None) is None:
        return {"page": None, "feed_urls": None}
    page = Paginator(feeds.feed_for(user), PAGE_SIZE).get_page(request.GET.get("page"))
    for item in page:
        item.days = abs(item.offset_days)
    return {"page": page, "feed_urls": feeds.feed_urls(user)}
