"""The dashboard's charts stay readable on a phone: drawn at a phone's width, group names shortened
at their end (never cut at their start), months by number with the year written once."""

import re

from tasks_app.status import Timeliness
from tasks_app.web import charts

GROUP = "7. Phát triển văn hóa, xã hội bền vững; xây dựng chính quyền các cấp thực sự của dân"


def test_group_labels_start_at_the_left_edge_and_are_shortened_at_their_end():
    svg = str(charts.horizontal_stacked([(GROUP, {Timeliness.OVERDUE.value: 3})], title="t", chart_id="c"))
    width = int(re.search(r'viewBox="0 0 (\d+) ', svg).group(1))
    assert width <= 390  # about 1:1 on a phone: 12 px text reads at 12 px
    label = re.search(r'<text x="0" [^>]*>([^<]*)<title>', svg).group(1)
    assert label.startswith("7. Phát triển văn hóa") and label.endswith("…")
    assert f"<title>{GROUP}</title>" in svg


def test_months_are_numbered_with_the_year_once():
    months = [(f"{m:02d}/2026", {Timeliness.ON_TIME.value: m}) for m in range(1, 13)] + [
        ("01/2027", {Timeliness.ON_TIME.value: 1})
    ]
    svg = str(charts.vertical_stacked(months, title="t", chart_id="m"))
    texts = re.findall(r"<text [^>]*>([^<]*)</text>", svg)[2:]  # after the axis: largest and 0
    assert [t for t in texts if t in {str(m) for m in range(1, 13)}][:12] == [str(m) for m in range(1, 13)]
    assert texts.count("2026") == 1 and texts.count("2027") == 1
    assert "01/2026" not in texts
