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


# Drawn at a phone's width, so that on a 390 px screen the SVG is shown about 1:1 and its 12 px
# text reads at 12 px; a wider screen scales it up. (A 640-wide drawing showed text at 6 px.)
PHONE_WIDTH = 360
FONT = 12


def horizontal_stacked(rows, *, title: str, chart_id: str, width: int = PHONE_WIDTH) -> SafeString:
    """rows: [(label, {timeliness_value: count})]; one horizontal bar per row, scaled to the largest.

    Each row's label is written on its own line above its bar, from the left edge, so a long group
    name is shortened at its end (the full name in its tooltip), never cut at its start.
    """
    bar, line, gap, top = 16, FONT + 4, 10, 2
    row_height = line + bar + gap
    height = top + len(rows) * row_height
    largest = max((sum(counts.values()) for _, counts in rows), default=0) or 1
    plot = width - 40  # room for the total after the bar
    limit = int(width / (FONT * 0.55))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {max(height, 30)}" role="img" '
        f'aria-labelledby="{chart_id}-title" font-family="system-ui, sans-serif" font-size="{FONT}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
    ]
    for index, (label, counts) in enumerate(rows):
        y = top + index * row_height
        parts.append(
            f'<text x="0" y="{y + FONT}" fill="#1c2330">'
            f"{escape(_shorten(str(label), limit))}<title>{escape(label)}</title></text>"
        )
        x, total = 0.0, 0
        for cls in ORDER:
            n = counts.get(cls.value, 0)
            if not n:
                continue
            w = plot * n / largest
            parts.append(
                f'<rect x="{x:.1f}" y="{y + line}" width="{w:.1f}" height="{bar}" fill="{COLOURS[cls]}">'
                f"<title>{escape(label)} — {escape(cls.label)}: {n}</title></rect>"
            )
            x += w
            total += n
        parts.append(f'<text x="{x + 4:.1f}" y="{y + line + bar - 3}" fill="#1c2330">{total}</text>')
    if not rows:
        parts.append('<text x="10" y="20" fill="#5a6473">—</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 — every text above is escaped


def _month_label(label: str) -> tuple[str, str]:
    """'07/2026' → ('7', '2026'): the month on the axis, the year on a second line."""
    month, _, year = str(label).partition("/")
    if month.isdigit() and year.isdigit():
        return str(int(month)), year
    return str(label), ""


def vertical_stacked(columns, *, title: str, chart_id: str, width: int = PHONE_WIDTH, height: int = 220) -> SafeString:
    """columns: [(label, {timeliness_value: count})]; one column per month, scaled to the largest.

    Months are labelled by number with the year written once under its first month, so twelve
    or more columns stay legible at a phone's width instead of running together.
    """
    left, bottom, top = 30, 2 * FONT + 10, 8
    plot_h = height - bottom - top
    count = max(len(columns), 1)
    slot = (width - left - 4) / count
    bar = max(min(slot * 0.7, 40), 3)
    largest = max((sum(c.values()) for _, c in columns), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title" font-family="system-ui, sans-serif" font-size="{FONT}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 2}" y2="{top + plot_h}" stroke="#d5dbe3"/>',
        f'<text x="{left - 4}" y="{top + FONT - 2}" text-anchor="end" fill="#5a6473">{largest}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" fill="#5a6473">0</text>',
    ]
    previous_year = None
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
        month, year = _month_label(label)
        centre = x + bar / 2
        parts.append(
            f'<text x="{centre:.1f}" y="{top + plot_h + FONT + 2}" text-anchor="middle" fill="#1c2330">'
            f"{escape(month)}</text>"
        )
        if year and year != previous_year:
            parts.append(
                f'<text x="{min(x, width - 4 * FONT * 0.6):.1f}" y="{height - 4}" fill="#5a6473">{escape(year)}</text>'
            )
            previous_year = year
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 — every text above is escaped
