from django import template
from django.utils.formats import number_format

from tasks_app.status import Timeliness

register = template.Library()

_LABELS = {t.value: t.label for t in Timeliness}


@register.filter
def timeliness_label(value):
    """The reporting class's label (Vietnamese first) for a `timeliness` annotation value."""
    return _LABELS.get(value, "")


@register.filter
def get_item(mapping, key):
    return mapping.get(key, 0) if mapping else 0


@register.filter
def minutes(delta):
    """A timedelta in whole minutes, rounded up (the lockout's cool-off)."""
    if not delta:
        return ""
    return -(-int(delta.total_seconds()) // 60)


@register.filter
def num(value):
    """A count or amount grouped in the reader's language: 165.000 in Vietnamese, 165,000 in
    English. Only for text people read; never in attributes, URLs or form values."""
    if value in (None, ""):
        return value
    return number_format(value, force_grouping=True)


@register.filter
def label_at(items, index):
    """The label of items[index] (a column's heading when a table is stacked on a phone)."""
    try:
        item = items[index]
    except (IndexError, KeyError, TypeError):
        return ""
    return getattr(item, "label", item)
