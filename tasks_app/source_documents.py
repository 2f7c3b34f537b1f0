"""The source document of a task (văn bản giao nhiệm vụ) written in one cell, as an appendix's
"Văn bản giao" column or a meeting's list of conclusions writes it:

    125/TB-UBND ngày 05/11/2026 của UBND thành phố Hải Phòng: Kết luận phiên họp tháng 11
    Số 1020/QĐ-UBND ngày 20/12/2025

Number and symbol, then "ngày dd/mm/yyyy"; optionally "của <issuing body>" and ": <summary>".
Without an issuing body the default given (the city) is used. A cell that does not read so is
refused with a message that shows the expected form; nothing is guessed.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.utils.translation import gettext as _t

PATTERN = re.compile(
    r"^\s*(?:s[ốo]\s*:?\s+)?(?P<number>[0-9A-Za-zĐđ][^\s,;]*)\s*,?\s+"
    r"ng[àa]y\s+(?P<date>\d{1,2}[/.-]\d{1,2}[/.-]\d{4})"
    r"(?:\s+c[ủu]a\s+(?P<issuer>[^:]+?))?"
    r"\s*(?::\s*(?P<summary>.*\S))?\s*$",
    re.IGNORECASE,
)
EXAMPLE = "125/TB-UBND ngày 05/11/2026 của UBND thành phố Hải Phòng: Kết luận phiên họp tháng 11"


@dataclass(frozen=True)
class SourceDocumentText:
    number: str
    date: dt.date
    issuer: str
    summary: str

    def as_dict(self) -> dict[str, object]:
        return {"number": self.number, "date": self.date, "issuer": self.issuer, "summary": self.summary}


def parse_source_document(text: str, *, default_issuer: str) -> SourceDocumentText:
    """Read one cell; raise ValueError with a message naming the expected form."""
    match = PATTERN.match(text or "")
    if match is None:
        raise ValueError(
            _t("Không đọc được văn bản giao “%(text)s”. Ghi theo mẫu: %(example)s") % {"text": text, "example": EXAMPLE}
        )
    day, month, year = (int(part) for part in re.split(r"[/.-]", match["date"]))
    try:
        date = dt.date(year, month, day)
    except ValueError as exc:
        raise ValueError(_t("Ngày ban hành không hợp lệ: %(d)s") % {"d": match["date"]}) from exc
    return SourceDocumentText(
        number=match["number"].strip()[:100],
        date=date,
        issuer=(match["issuer"] or default_issuer).strip()[:200],
        summary=(match["summary"] or "").strip()[:500],
    )
