from typing import Any

from django import template
from django.forms import BaseForm
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


def _refused_forms(context) -> list[Any]:
    """Every bound form with errors the page renders — a `form`, the `forms` mapping of the
    assignment page's actions, a wizard's step form — each once, in the context's order."""
    found: list[Any] = []

    def add(value: Any) -> None:
        if isinstance(value, BaseForm) and value.is_bound and value.errors and all(f is not value for f in found):
            found.append(value)

    for key, value in context.flatten().items():
        for candidate in value.values() if key == "forms" and isinstance(value, dict) else [value]:
            add(candidate)
    return found


def _anchor(field: Any) -> str:
    """The link to a field: its input, or a choice group's first choice (a RadioSelect's label
    points at no single input)."""
    target = field.id_for_label or (f"{field.auto_id}_0" if field.auto_id else "")
    return f"#{target}" if target else "#main"


@register.inclusion_tag("web/_error_summary.html", takes_context=True)
def error_summary(context):
    """The one error summary of every page (base.html puts it at the top of the main content): a
    refused form's errors, each a link to its field (a form-wide error to the form's first field);
    app.js moves focus to it."""
    request = context.get("request")
    if request is None or request.method != "POST":
        # A filter (GET) shows its own errors beside its fields; the summary is for a refused submission.
        return {"error_items": []}
    items = []
    for form in _refused_forms(context):
        fields = [f for f in form if not f.is_hidden]
        first = _anchor(fields[0]) if fields else "#main"
        items += [(first, "", error) for error in form.non_field_errors()]
        for field in form:
            target = _anchor(field) if not field.is_hidden else first
            items += [(target, field.label, error) for error in field.errors]
    return {"error_items": items}
