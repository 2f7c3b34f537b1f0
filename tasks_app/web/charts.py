"""Charts drawn on the server as SVG: no script, no network, readable without colour.

Each chart is a stacked bar per row (a task group, a month) of the five timeliness classes.
Every segment carries a <title> (a tooltip and what a screen reader reads), and the page shows
the same numbers in a table next to it.
"""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from tasks_app.status import Timeliness

# Same colours as the badges in static/web/app.css.
COLOURS = {
    Timeliness.NOT_YET_DUE: "#5a6473",
    Timeliness.ON_TIME: "#0b6bcb",
    Timeliness.OVERDUE: "#c62828",
    Timeliness.COMPLETED_ON_TIME: "#2e7d32",
    Timeliness.COMPLETED_LATE: "#b26a00",
}
# Stack order: finished work first, then open work, overdue last so it stands out at the end.
ORDER = (
    Timeliness.COMPLETED_ON_TIME,
    Timeliness.COMPLETED_LATE,
    Timeliness.ON_TIME,
    Timeliness.NOT_YET_DUE,
    Timeliness.OVERDUE,
)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def horizontal_stacked(rows, *, title: str, chart_id: str, label_width: int = 210, width: int = 640) -> SafeString:
    """rows: [(label, {timeliness_value: count})]; one horizontal bar per row, scaled to the largest."""
    bar, gap, top = 18, 8, 6
    height = top + len(rows) * (bar + gap) + 4
    largest = max((sum(counts.values()) for _, counts in rows), default=0) or 1
    plot = width - label_width - 50
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {max(height, 30)}" role="img" '
        f'aria-labelledby="{chart_id}-title" font-family="system-ui, sans-serif" font-size="12">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
    ]
    for index, (label, counts) in enumerate(rows):
        y = top + index * (bar + gap)
        parts.append(
            f'<text x="{label_width - 6}" y="{y + bar - 5}" text-anchor="end" fill="#1c2330">'
            f"{escape(_shorten(str(label), 34))}<title>{escape(label)}</title></text>"
        )
        x = float(label_width)
        total = 0
        for cls in ORDER:
            n = counts.get(cls.value, 0)
            if not n:
                continue
            w = plot * n / largest
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar}" fill="{COLOURS[cls]}">'
                f"<title>{escape(label)} — {escape(cls.label)}: {n}</title></rect>"
            )
            x += w
            total += n
        parts.append(f'<text x="{x + 4:.1f}" y="{y + bar - 5}" fill="#5a6473">{total}</text>')
    if not rows:
        parts.append('<text x="10" y="20" fill="#5a6473">—</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 — every text above is escaped


def vertical_stacked(columns, *, title: str, chart_id: str, width: int = 640, height: int = 240) -> SafeString:
    """columns: [(label, {timeliness_value: count})]; one column per month, scaled to the largest."""
    left, bottom, top = 34, 24, 8
    plot_h = height - bottom - top
    count = max(len(columns), 1)
    slot = (width - left - 8) / count
    bar = max(min(slot * 0.7, 48), 4)
    largest = max((sum(c.values()) for _, c in columns), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title" font-family="system-ui, sans-serif" font-size="11">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 4}" y2="{top + plot_h}" stroke="#d5dbe3"/>',
        f'<text x="{left - 4}" y="{top + 8}" text-anchor="end" fill="#5a6473">{largest}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" fill="#5a6473">0</text>',
    ]
    for index, (label, counts) in enumerate(columns):
        x = left + index * slot + (slot - bar) / 2
        y = float(top + plot_h)
        for cls in ORDER:
            n = counts.get(cls.value, 0)
            if not n:
                continue
            h = plot_h * n / largest
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{COLOURS[cls]}">'
                f"<title>{escape(label)} — {escape(cls.label)}: {n}</title></rect>"
            )
        parts.append(
            f'<text x="{x + bar / 2:.1f}" y="{height - 8}" text-anchor="middle" fill="#1c2330">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 — every text above is escaped
