"""Inspection photos: checked like evidence, their EXIF time and GPS position read on the server
with Pillow, then re-encoded without any other metadata and resized for viewing on a phone.

A phone's camera writes its make and model, the owner's name, a thumbnail and more into EXIF; the
stored copy keeps only the pixels (turned upright as the camera meant them). What is worth
keeping, when and where the photo was taken, goes into fields of `InspectionPhoto`.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass
from decimal import Decimal
from io import BytesIO

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from tasks_app import evidence
from tasks_app.lifecycle import local_tz

# What a phone's camera gives, as `evidence` reads it from the bytes.
PHOTO_TYPES = {"image/jpeg", "image/png", "image/webp"}
# The longest side of the stored copy: sharp on a phone, a few hundred kB on a slow link.
MAX_SIDE = 1600
# A photo of more pixels than this is refused before it is decoded (a "decompression bomb"). A
# JPEG is decoded at 1/2, 1/4 or 1/8 of its size when that still covers MAX_SIDE (`draft`), so a
# 200-megapixel phone photo costs a few megabytes of memory; other formats decode in full.
MAX_PIXELS = 50_000_000
MAX_JPEG_PIXELS = 210_000_000


@dataclass
class Photo:
    name: str
    content: bytes
    width: int
    height: int
    taken_at: dt.datetime | None
    latitude: Decimal | None
    longitude: Decimal | None


def _taken_at(exif: Image.Exif) -> dt.datetime | None:
    details = exif.get_ifd(ExifTags.IFD.Exif)
    raw = details.get(ExifTags.Base.DateTimeOriginal) or exif.get(ExifTags.Base.DateTime)
    if not isinstance(raw, str):
        return None
    try:
        moment = dt.datetime.strptime(raw.strip().rstrip("\x00"), "%Y:%m:%d %H:%M:%S")  # noqa: DTZ007
    except ValueError:
        return None
    offset = details.get(ExifTags.Base.OffsetTimeOriginal)
    if isinstance(offset, str):
        try:
            return dt.datetime.strptime(f"{moment:%Y-%m-%d %H:%M:%S}{offset.strip()}", "%Y-%m-%d %H:%M:%S%z")
        except ValueError:
            pass
    # Without an offset, a camera's clock is local time: Asia/Ho_Chi_Minh.
    return timezone.make_aware(moment, local_tz())


def _degrees(value, ref) -> Decimal | None:
    try:
        d, m, s = (float(part) for part in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    degrees = d + m / 60 + s / 3600
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "ignore")
    if str(ref).strip().upper() in ("S", "W"):
        degrees = -degrees
    return Decimal(f"{degrees:.6f}")


def _position(exif: Image.Exif) -> tuple[Decimal | None, Decimal | None]:
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    lat = _degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef, "N"))
    lon = _degrees(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef, "E"))
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None, None
    return lat, lon


def process(upload) -> Photo:
    """Check one uploaded photo, read its EXIF time and position, and make the stored copy."""
    content_type = evidence.sniff_content_type(upload)  # size, emptiness and type by content
    name = getattr(upload, "name", "") or "anh.jpg"
    if content_type not in PHOTO_TYPES:
        raise ValidationError(
            _("“%(name)s” không phải ảnh chụp (JPEG, PNG, WebP).") % {"name": name}, code="not_a_photo"
        )
    upload.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(upload) as image:
                limit = MAX_JPEG_PIXELS if image.format == "JPEG" else MAX_PIXELS
                if image.width * image.height > limit:
                    raise Image.DecompressionBombError(name)
                exif = image.getexif()
                if image.format == "JPEG":
                    # Orientation may swap the sides: ask for enough pixels either way.
                    image.draft("RGB", (MAX_SIDE, MAX_SIDE))
                taken_at = _taken_at(exif)
                latitude, longitude = _position(exif)
                upright = ImageOps.exif_transpose(image)
                upright = upright.convert("RGB")
                upright.thumbnail((MAX_SIDE, MAX_SIDE))
                buffer = BytesIO()
                # No `exif=`, no `icc_profile=`: the copy carries no metadata from the camera.
                upright.save(buffer, "JPEG", quality=85, optimize=True)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombWarning) as exc:
        raise ValidationError(_("Không đọc được ảnh “%(name)s”.") % {"name": name}, code="unreadable_photo") from exc
    except Image.DecompressionBombError as exc:
        raise ValidationError(_("Ảnh “%(name)s” quá lớn.") % {"name": name}, code="photo_too_large") from exc
    stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0][:80] or "anh"
    return Photo(
        name=f"{stem}.jpg",
        content=buffer.getvalue(),
        width=upright.width,
        height=upright.height,
        taken_at=taken_at,
        latitude=latitude,
        longitude=longitude,
    )


def process_all(uploads) -> list[Photo]:
    """Every photo or one ValidationError naming each that was refused."""
    uploads = [u for u in uploads if u]
    if len(uploads) > evidence.max_files():
        raise ValidationError(
            _("Tối đa %(max)s ảnh cho mỗi lần kiểm tra.") % {"max": evidence.max_files()}, code="too_many_files"
        )
    photos, errors = [], []
    for upload in uploads:
        try:
            photos.append(process(upload))
        except ValidationError as exc:
            errors.extend(exc.error_list)
    if errors:
        raise ValidationError(errors)
    return photos
