"""Real files of each accepted evidence kind, built in memory (what a phone or an office suite makes)."""

from __future__ import annotations

import io
import zipfile

from PIL import Image

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\nstartxref\n0\n%%EOF\n"


def png(width: int = 4, height: int = 3) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 120, 30)).save(out, "JPEG")
    return out.getvalue()


def docx(extra: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("word/document.xml", '<?xml version="1.0"?><w:document/>')
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return out.getvalue()


def zip_bomb_docx(uncompressed: int = 300 * 1024 * 1024) -> bytes:
    """A .docx whose one part inflates to `uncompressed` bytes of zeros (a few hundred KB packed)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        with archive.open("word/document.xml", "w", force_zip64=True) as part:
            block = b"\x00" * (1 << 20)
            for _ in range(uncompressed >> 20):
                part.write(block)
    return out.getvalue()
