"""Evidence files: what may be uploaded, judged by content, shared by the web forms and the API.

The type is read from the file's first bytes (the `filetype` package), never trusted from the
name or the browser's Content-Type, so an HTML page or a script renamed `report.pdf` is refused.
Plain text and CSV have no signature: they pass only when named so and valid UTF-8 without markup.
Accepted files are still served only as downloads (`Content-Disposition: attachment`).
"""

from __future__ import annotations

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# Sniffed MIME type -> the content type recorded and sent back on download.
ALLOWED_TYPES = {
    "application/pdf",
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/heic",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/zip",
    "video/mp4",
}
TEXT_EXTENSIONS = {".txt": "text/plain", ".csv": "text/csv"}
_MARKUP = (b"<html", b"<script", b"<svg", b"<!doctype", b"<?xml", b"<body", b"<iframe")
_HEAD_BYTES = 8192


def max_bytes() -> int:
    return getattr(settings, "API_EVIDENCE_MAX_BYTES", 20 * 1024 * 1024)


def max_files() -> int:
    return getattr(settings, "API_EVIDENCE_MAX_FILES", 10)


def _head(upload) -> bytes:
    upload.seek(0)
    head = upload.read(_HEAD_BYTES)
    upload.seek(0)
    return head


def _is_plain_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Reading stops at _HEAD_BYTES and may cut a character in two; only an earlier bad byte counts.
        if exc.start < len(head) - 3:
            return False
    lowered = head.lower()
    return b"\x00" not in head and not any(marker in lowered for marker in _MARKUP)


def sniff_content_type(upload) -> str:
    """The content type of an uploaded file as its bytes show it; raise ValidationError if not allowed.

    `upload` is a Django UploadedFile (or any file object with `name`, `size`, `read`, `seek`).
    """
    name = getattr(upload, "name", "") or ""
    size = getattr(upload, "size", None)
    if size is None:
        upload.seek(0, 2)
        size = upload.tell()
        upload.seek(0)
    if size == 0:
        raise ValidationError(_("Tệp “%(name)s” rỗng.") % {"name": name}, code="empty_file")
    if size > max_bytes():
        raise ValidationError(
            _("Tệp “%(name)s” quá lớn (%(size)s MB); tối đa %(max)s MB.")
            % {"name": name, "size": round(size / 1048576, 1), "max": round(max_bytes() / 1048576, 1)},
            code="file_too_large",
        )
    head = _head(upload)
    kind = filetype.guess(head)
    if kind is not None:
        if kind.mime in ALLOWED_TYPES:
            return kind.mime
        raise ValidationError(
            _("Không nhận loại tệp “%(name)s” (%(type)s). Hãy gửi PDF, ảnh, Word, Excel hoặc PowerPoint.")
            % {"name": name, "type": kind.mime},
            code="file_type_not_allowed",
        )
    extension = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension in TEXT_EXTENSIONS and _is_plain_text(head):
        return TEXT_EXTENSIONS[extension]
    raise ValidationError(
        _("Không nhận loại tệp “%(name)s”. Hãy gửi PDF, ảnh, Word, Excel hoặc PowerPoint.") % {"name": name},
        code="file_type_not_allowed",
    )


def validate_uploads(uploads) -> list[tuple[object, str]]:
    """Check a list of uploads; return (upload, content_type) pairs or raise one ValidationError for all."""
    uploads = [u for u in uploads if u]
    if len(uploads) > max_files():
        raise ValidationError(_("Tối đa %(max)s tệp cho mỗi báo cáo.") % {"max": max_files()}, code="too_many_files")
    checked, errors = [], []
    for upload in uploads:
        try:
            checked.append((upload, sniff_content_type(upload)))
        except ValidationError as exc:
            errors.extend(exc.error_list)
    if errors:
        raise ValidationError(errors)
    return checked


def attach_files(report, checked) -> list:
    """Store validated files as Evidence rows of a progress report (inside the caller's transaction)."""
    from tasks_app.models import Evidence

    evidence = []
    for upload, content_type in checked:
        item = Evidence(
            report=report,
            original_name=(upload.name or "")[:255],
            content_type=content_type,
            size=upload.size,
        )
        item.file.save(upload.name, upload, save=False)
        item.save()
        evidence.append(item)
    return evidence
