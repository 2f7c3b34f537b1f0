"""Evidence files: what may be uploaded, judged by content, and how they are sent back. Shared by
the web forms and the API (one rule, one response).

Accepted are exactly the kinds the form's hint names (`accepted_hint()` is built from `KINDS`):
PDF, images, Word, Excel and PowerPoint. A file is accepted when
- its first bytes say one of those kinds (the `filetype` package; the name and the browser's
  Content-Type are never trusted),
- it parses as that kind: a PDF has its header and `%%EOF` trailer, an image opens in Pillow, an
  Office file is a zip with the kind's main part whose uncompressed size is bounded (no zip bomb),
- and nowhere in it is there HTML or script (a `%PDF-` header followed by a page is a polyglot).
It is sent back only as a download named with the detected kind's extension, with the same headers
(`nosniff`, CSP `sandbox`) from the web page and the API (ASVS 5.2.2, 5.3.2, 5.4.x).
"""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath

import filetype
from django.conf import settings
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.http import FileResponse, Http404
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

# Markup a browser would render or run. Searched in the whole file, case-insensitively.
_MARKUP = (b"<html", b"<script", b"<body", b"<iframe", b"<!doctype html", b"<svg", b"<object", b"<embed")
_SCAN_CHUNK = 1 << 20
# An Office file's parts may not add up to more than this uncompressed, nor be more than this many.
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_ZIP_MEMBERS = 5000
MAX_IMAGE_PIXELS = 80_000_000


class NotThatKind(Exception):
    """The file does not parse as the kind its first bytes claim."""


def _check_pdf(upload, size: int) -> None:
    upload.seek(0)
    if not upload.read(8).startswith(b"%PDF-"):
        raise NotThatKind("no %PDF- header")
    upload.seek(max(0, size - 2048))
    if b"%%EOF" not in upload.read():
        raise NotThatKind("no %%EOF trailer")


def _check_image(upload, size: int) -> None:
    from PIL import Image

    upload.seek(0)
    try:
        with Image.open(upload) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise NotThatKind("too many pixels")
            image.verify()
    except NotThatKind:
        raise
    except Exception as exc:  # Pillow raises many kinds for a broken file; all mean "not an image"
        raise NotThatKind(f"not an image: {exc}") from exc


def _check_heic(upload, size: int) -> None:
    upload.seek(4)
    if upload.read(4) != b"ftyp":
        raise NotThatKind("no ftyp box")


def _check_ole(upload, size: int) -> None:
    upload.seek(0)
    if upload.read(8) != b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise NotThatKind("not an OLE compound file")


def _zip_check(*required: str) -> Callable:
    def check(upload, size: int) -> None:
        upload.seek(0)
        try:
            with zipfile.ZipFile(upload) as archive:
                members = archive.infolist()
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise NotThatKind(f"not a zip: {exc}") from exc
        if len(members) > MAX_ZIP_MEMBERS:
            raise NotThatKind("too many parts")
        if sum(m.file_size for m in members) > MAX_UNCOMPRESSED_BYTES:
            raise NotThatKind("uncompressed size beyond the bound")
        names = {m.filename for m in members}
        if not all(name in names for name in required):
            raise NotThatKind(f"missing {required}")

    return check


@dataclass(frozen=True)
class Kind:
    mime: str
    extension: str
    check: Callable


KINDS = {
    kind.mime: kind
    for kind in [
        Kind("application/pdf", ".pdf", _check_pdf),
        Kind("image/jpeg", ".jpg", _check_image),
        Kind("image/png", ".png", _check_image),
        Kind("image/webp", ".webp", _check_image),
        Kind("image/heic", ".heic", _check_heic),
        Kind("application/msword", ".doc", _check_ole),
        Kind(
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ".docx",
            _zip_check("[Content_Types].xml", "word/document.xml"),
        ),
        Kind("application/vnd.oasis.opendocument.text", ".odt", _zip_check("mimetype", "content.xml")),
        Kind("application/vnd.ms-excel", ".xls", _check_ole),
        Kind(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ".xlsx",
            _zip_check("[Content_Types].xml", "xl/workbook.xml"),
        ),
        Kind("application/vnd.oasis.opendocument.spreadsheet", ".ods", _zip_check("mimetype", "content.xml")),
        Kind("application/vnd.ms-powerpoint", ".ppt", _check_ole),
        Kind(
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            ".pptx",
            _zip_check("[Content_Types].xml", "ppt/presentation.xml"),
        ),
    ]
}
ALLOWED_TYPES = set(KINDS)
# Rows stored before the kinds above were narrowed keep a sensible name on download.
_LEGACY_EXTENSIONS = {"text/plain": ".txt", "text/csv": ".csv", "application/zip": ".zip", "video/mp4": ".mp4"}


def max_bytes() -> int:
    return settings.API_EVIDENCE_MAX_BYTES


def max_files() -> int:
    return settings.API_EVIDENCE_MAX_FILES


def accepted_hint() -> str:
    """What the upload fields say; exactly what `sniff_content_type` accepts."""
    return _(
        "PDF, ảnh (JPEG, PNG, WebP, HEIC), Word (.doc, .docx, .odt), Excel (.xls, .xlsx, .ods), "
        "PowerPoint (.ppt, .pptx); tối đa %(files)d tệp, mỗi tệp tối đa %(mb)s MB."
    ) % {"files": max_files(), "mb": _megabytes(max_bytes())}


def _megabytes(size: int) -> str:
    return f"{size / 1048576:.0f}" if size % 1048576 == 0 else f"{size / 1048576:.1f}"


def _contains_markup(upload) -> bool:
    upload.seek(0)
    tail = b""
    while chunk := upload.read(_SCAN_CHUNK):
        window = (tail + chunk).lower()
        if any(marker in window for marker in _MARKUP):
            return True
        tail = window[-32:]
    return False


def _refuse(name: str, reason: str) -> ValidationError:
    return ValidationError(
        _("Không nhận tệp “%(name)s”: %(reason)s Chỉ nhận: %(accepted)s")
        % {"name": name, "reason": reason, "accepted": accepted_hint()},
        code="file_type_not_allowed",
    )


def sniff_content_type(upload) -> str:
    """The content type of an uploaded file as its bytes show it; raise ValidationError if not accepted.

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
            % {"name": name, "size": round(size / 1048576, 1), "max": _megabytes(max_bytes())},
            code="file_too_large",
        )
    upload.seek(0)
    detected = filetype.guess(upload.read(8192))
    kind = KINDS.get(detected.mime) if detected is not None else None
    if kind is None:
        raise _refuse(name, _("loại tệp không được chấp nhận."))
    try:
        kind.check(upload, size)
    except NotThatKind as exc:
        logger.info("evidence %r refused as %s: %s", name, kind.mime, exc)
        raise _refuse(name, _("nội dung không đúng là tệp %(ext)s.") % {"ext": kind.extension}) from exc
    finally:
        upload.seek(0)
    if _contains_markup(upload):
        upload.seek(0)
        raise _refuse(name, _("tệp chứa mã HTML hoặc script."))
    upload.seek(0)
    return kind.mime


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


def download_name(original_name: str, content_type: str) -> str:
    """The original name's stem with the extension of the type read from the content at upload."""
    extension = KINDS[content_type].extension if content_type in KINDS else _LEGACY_EXTENSIONS.get(content_type, "")
    stem = PurePath(original_name or "minh-chung").stem or "minh-chung"
    return stem + (extension or ".bin")


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
        item.file.save(download_name(upload.name, content_type), upload, save=False)
        item.save()
        evidence.append(item)
    return evidence


def file_response(file_field, filename: str, content_type: str) -> FileResponse:
    """A stored upload as a download, never rendered by the browser: the one response of every
    download path (web evidence, API evidence, inspection photos). A file missing on disk is a 404
    and a log line, not a 500."""
    try:
        handle = file_field.open("rb")
    except (FileNotFoundError, OSError) as exc:
        logger.error("stored file missing on disk: %s (%s)", file_field.name, exc)
        raise Http404(_("Không tìm thấy tệp.")) from exc
    response = FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


def evidence_response(item) -> FileResponse:
    content_type = item.content_type or "application/octet-stream"
    return file_response(item.file, download_name(item.original_name or item.file.name, content_type), content_type)


class _Oversized(UploadedFile):
    """Stands for a file that was larger than allowed: its size is known, its bytes were not kept."""

    def __init__(self, name: str, size: int, content_type: str | None):
        super().__init__(io.BytesIO(b""), name, content_type, size)


class SizeLimitedUploadHandler(FileUploadHandler):
    """First of FILE_UPLOAD_HANDLERS: a request body beyond what any form accepts is refused before
    it is read, and a file beyond API_EVIDENCE_MAX_BYTES stops being stored at that byte (the form
    then says it is too large), so an oversized upload never fills memory or disk."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        # Every file at its largest plus a megabyte of form fields: nothing legitimate is longer.
        if content_length and content_length > max_files() * max_bytes() + 1048576:
            raise RequestDataTooBig(_("Nội dung gửi lên quá lớn."))

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        return None if self.received > max_bytes() else raw_data

    def file_complete(self, file_size):
        if self.received > max_bytes():
            return _Oversized(self.file_name or "", self.received, self.content_type)
        return None
