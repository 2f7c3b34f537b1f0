from django import template

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
